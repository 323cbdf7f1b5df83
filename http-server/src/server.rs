//! [`Server`]: bind, configure, serve a handler; [`ServerHandle`]: stop and start
//! listening, shut down.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use async_io::{Async, Timer};
use async_net::{AsyncToSocketAddrs, TcpListener, TcpStream};
use event_listener::Event;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt, ready};

use crate::close::ConnectionId;
use crate::config::ServerConfig;
use crate::conn::{self, Clock, ConnInfo};
use crate::handler::Handler;
use crate::rt::{Spawner, SpawnerDebug, default_spawner};
use crate::shared::{ConnShared, Control};

/// A server being set up: its listening sockets, its [`ServerConfig`] and its
/// [`Spawner`]. [`serve`](Self::serve) starts it and returns a [`ServerHandle`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// use http_server::{Request, Response, Server};
///
/// let mut server = Server::bind("127.0.0.1:8080").await?;
/// server.also_bind("[::1]:8080").await?;
/// server.config_mut().keep_alive_timeout(Duration::from_secs(30));
/// let handle = server.serve(|req: Request| async move {
///     Response::text(200, format!("you asked for {}\n", req.path()))
/// });
/// println!("listening on {:?}", handle.local_addrs());
/// # Ok(()) }
/// ```
pub struct Server {
    listeners: Vec<Listener>,
    config: ServerConfig,
    spawner: Option<Arc<dyn Spawner>>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
}

/// HTTPS on the TCP listeners: the acceptor and the handshake's own deadline.
#[cfg(feature = "tls")]
#[derive(Clone)]
struct Tls {
    acceptor: futures_rustls::TlsAcceptor,
    timeout: Duration,
}

/// Controls a running server; cheap to clone. Dropping every handle leaves the server
/// running.
///
/// - [`stop_listening`](Self::stop_listening) / [`start_listening`](Self::start_listening)
///   close the listening sockets and bind the same addresses again (SimpleHTTP's
///   `STOPLISTEN` / `STARTLISTEN`); open connections keep working meanwhile.
/// - [`shutdown`](Self::shutdown) closes everything now;
///   [`shutdown_graceful`](Self::shutdown_graceful) stops accepting, closes idle
///   connections, lets in-flight requests finish and force-closes at a deadline.
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<Inner>,
}

/// The non-generic part of a running server.
struct Inner {
    addrs: Vec<SocketAddr>,
    /// The Unix socket paths listened on (bound again by `start_listening`).
    #[cfg(unix)]
    unix_paths: Vec<PathBuf>,
    live: AtomicUsize,
    /// Notified whenever a connection closes.
    closed: Event,
    conns: Mutex<HashMap<ConnectionId, Arc<ConnShared>>>,
    listen: Mutex<ListenState>,
    /// Serializes stop/start so a stop waits for a start's accept loops.
    ops: async_lock_free::OpLock,
    shutting_down: AtomicBool,
    max_connections: usize,
    /// Spawns an accept loop for a listener (holds the handler; dropped at shutdown).
    start: Mutex<Option<StartFn>>,
}

type StartFn = Box<dyn Fn(Listener, Receiver<()>, Sender<()>) + Send + Sync>;

/// A listening socket: TCP, or a Unix domain socket.
#[derive(Debug)]
enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(async_net::unix::UnixListener),
}

/// An accepted connection.
enum Accepted {
    Tcp(TcpStream, SocketAddr),
    #[cfg(unix)]
    Unix(async_net::unix::UnixStream),
}

impl Listener {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Self::Tcp(l) => l.accept().await.map(|(s, peer)| Accepted::Tcp(s, peer)),
            #[cfg(unix)]
            Self::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        }
    }

    fn tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    #[cfg(unix)]
    fn unix_path(&self) -> Option<PathBuf> {
        match self {
            Self::Unix(l) => l.local_addr().ok()?.as_pathname().map(Path::to_owned),
            Self::Tcp(_) => None,
        }
    }
}

/// The address a Unix-socket connection reports as its peer and local address: the
/// unspecified `0.0.0.0:0` (see [`Server::bind_unix`]).
#[cfg(unix)]
const UNIX_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

#[derive(Default)]
struct ListenState {
    /// Closing it stops the accept loops.
    stop: Option<Sender<()>>,
    /// Yields an error once every accept loop has exited (and dropped its listener).
    done: Option<Receiver<()>>,
}

/// Everything a connection task needs.
struct Service<H> {
    handler: H,
    config: ServerConfig,
    inner: Arc<Inner>,
    spawner: Arc<dyn Spawner>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
    /// The edge-triggered epoll set plain TCP connections are registered in (Linux);
    /// `None` if it could not be created, and then async-io's registration is used.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    edge: Option<crate::edge::EdgeSet>,
}

impl Server {
    /// Bind a listening socket to `addr` (the first resolved address that binds), such
    /// as `"127.0.0.1:8080"`, `"[::]:8080"` or `"localhost:0"`.
    ///
    /// # Errors
    ///
    /// When resolving or binding fails.
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<Self> {
        let mut server = Self::new();
        server.also_bind(addr).await?;
        Ok(server)
    }

    /// A server with no listener yet (add some with [`also_bind`](Self::also_bind) or
    /// [`add_listener`](Self::add_listener)).
    pub fn new() -> Self {
        Self {
            listeners: Vec::new(),
            config: ServerConfig::new(),
            spawner: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Bind one more listening socket (several addresses, IPv4 and IPv6, may be served).
    ///
    /// # Errors
    ///
    /// When resolving or binding fails.
    pub async fn also_bind(&mut self, addr: impl AsyncToSocketAddrs) -> io::Result<&mut Self> {
        let listener = TcpListener::bind(addr).await?;
        self.listeners.push(Listener::Tcp(listener));
        Ok(self)
    }

    /// Bind a Unix domain socket at `path` and serve on it (alone, or beside TCP
    /// listeners: see [`also_bind_unix`](Self::also_bind_unix)).
    ///
    /// A connection over a Unix socket has no IP address: its
    /// [`Request::peer_addr`](crate::Request::peer_addr) and
    /// [`local_addr`](crate::Request::local_addr) are the unspecified `0.0.0.0:0`, and
    /// [`Request::is_unix`](crate::Request::is_unix) says so. To take the client's
    /// address from a reverse proxy connecting over the socket (nginx's `X-Real-IP`),
    /// list `Ipv4Addr::UNSPECIFIED` in
    /// [`trusted_proxies`](crate::ServerConfig::trusted_proxies).
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use http_server::{Request, Response, Server};
    ///
    /// let server = Server::bind_unix("/tmp/app.sock").await?;
    /// let handle = server.serve(|_req: Request| async { Response::text(200, "hi\n") });
    /// // curl --unix-socket /tmp/app.sock http://localhost/
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When binding fails, such as when `path` exists (remove a stale socket first).
    #[cfg(unix)]
    pub async fn bind_unix(path: impl AsRef<Path>) -> io::Result<Self> {
        let mut server = Self::new();
        server.also_bind_unix(path).await?;
        Ok(server)
    }

    /// Bind one more listening socket, a Unix domain socket at `path` (see
    /// [`bind_unix`](Self::bind_unix)).
    ///
    /// # Errors
    ///
    /// When binding fails, such as when `path` exists.
    #[cfg(unix)]
    pub async fn also_bind_unix(&mut self, path: impl AsRef<Path>) -> io::Result<&mut Self> {
        let listener = async_net::unix::UnixListener::bind(path)?;
        self.listeners.push(Listener::Unix(listener));
        Ok(self)
    }

    /// Serve on an already bound listener.
    pub fn add_listener(&mut self, listener: TcpListener) -> &mut Self {
        self.listeners.push(Listener::Tcp(listener));
        self
    }

    /// Serve on an already bound Unix domain socket listener.
    #[cfg(unix)]
    pub fn add_unix_listener(&mut self, listener: async_net::unix::UnixListener) -> &mut Self {
        self.listeners.push(Listener::Unix(listener));
        self
    }

    /// Serve on an already bound std listener.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the reactor.
    pub fn add_std_listener(&mut self, listener: std::net::TcpListener) -> io::Result<&mut Self> {
        listener.set_nonblocking(true)?;
        self.listeners
            .push(Listener::Tcp(TcpListener::try_from(listener)?));
        Ok(self)
    }

    /// The TCP addresses bound so far (with the ports the system chose for port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(Listener::tcp_addr)
            .collect()
    }

    /// The Unix socket paths bound so far.
    #[cfg(unix)]
    pub fn unix_paths(&self) -> Vec<PathBuf> {
        self.listeners
            .iter()
            .filter_map(Listener::unix_path)
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The configuration, to change it.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.config
    }

    /// Replace the configuration.
    pub fn set_config(&mut self, config: ServerConfig) -> &mut Self {
        self.config = config;
        self
    }

    /// Serve HTTPS on the TCP listeners (the `tls` feature): each connection first
    /// completes a TLS handshake with `config`, within 10 seconds by default (see
    /// [`tls_handshake_timeout`](Self::tls_handshake_timeout)); a failed or late
    /// handshake closes the connection without reaching the handler. Unix socket
    /// listeners stay plain. Set `config.alpn_protocols` to `[b"http/1.1"]` to announce
    /// HTTP/1.1 to clients that negotiate ALPN.
    ///
    /// ```no_run
    /// # async fn run(tls: std::sync::Arc<http_server::rustls::ServerConfig>) -> std::io::Result<()> {
    /// use http_server::{Request, Response, Server};
    ///
    /// let mut server = Server::bind("127.0.0.1:8443").await?;
    /// server.tls(tls);
    /// let handle = server.serve(|_req: Request| async { Response::text(200, "secure\n") });
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(&mut self, config: Arc<futures_rustls::rustls::ServerConfig>) -> &mut Self {
        let timeout = self
            .tls
            .as_ref()
            .map_or(Duration::from_secs(10), |t| t.timeout);
        self.tls = Some(Tls {
            acceptor: futures_rustls::TlsAcceptor::from(config),
            timeout,
        });
        self
    }

    /// How long a TLS handshake may take (default 10 seconds); call after
    /// [`tls`](Self::tls).
    #[cfg(feature = "tls")]
    pub fn tls_handshake_timeout(&mut self, timeout: Duration) -> &mut Self {
        if let Some(tls) = &mut self.tls {
            tls.timeout = timeout;
        }
        self
    }

    /// Spawn tasks with `spawner` instead of smol's global executor (the default with
    /// the `smol` feature). See [`ThreadPool`](crate::ThreadPool) for N threads.
    pub fn spawner(&mut self, spawner: impl Spawner) -> &mut Self {
        self.spawner = Some(Arc::new(spawner));
        self
    }

    /// Start accepting connections and answering them with `handler`. Returns at once;
    /// the accept loops and connections run on the spawner.
    ///
    /// # Panics
    ///
    /// Without the `smol` feature, if no [`spawner`](Self::spawner) was set.
    pub fn serve<H: Handler>(self, handler: H) -> ServerHandle {
        let addrs = self.local_addrs();
        #[cfg(unix)]
        let unix_paths = self.unix_paths();
        let spawner = self
            .spawner
            .or_else(default_spawner)
            .expect("no spawner: enable the `smol` feature or call Server::spawner");
        let inner = Arc::new(Inner {
            addrs,
            #[cfg(unix)]
            unix_paths,
            live: AtomicUsize::new(0),
            closed: Event::new(),
            conns: Mutex::new(HashMap::new()),
            listen: Mutex::new(ListenState::default()),
            ops: async_lock_free::OpLock::new(),
            shutting_down: AtomicBool::new(false),
            max_connections: self.config.max_connections,
            start: Mutex::new(None),
        });
        let _ = self.config.engine();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let edge = match crate::edge::EdgeSet::new() {
            Ok((set, driver)) => {
                spawner.spawn(Box::pin(driver));
                Some(set)
            }
            Err(e) => {
                log::warn!("edge-triggered epoll set unavailable ({e}): using async-io's");
                None
            }
        };
        let service = Arc::new(Service {
            handler,
            config: self.config,
            inner: inner.clone(),
            spawner: spawner.clone(),
            #[cfg(feature = "tls")]
            tls: self.tls,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            edge,
        });
        let start: StartFn = Box::new(move |listener, stop, done| {
            let service = service.clone();
            service
                .spawner
                .clone()
                .spawn(Box::pin(accept_loop(listener, service, stop, done)));
        });
        *lock(&inner.start) = Some(start);
        let handle = ServerHandle { inner };
        handle.spawn_accept_loops(self.listeners);
        handle
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.local_addrs())
            .field("config", &self.config)
            .field("spawner", &self.spawner.as_ref().map(|_| SpawnerDebug))
            .finish()
    }
}

impl ServerHandle {
    /// The TCP addresses the server listens on (the same after a stop and start).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.addrs
    }

    /// The Unix socket paths the server listens on.
    #[cfg(unix)]
    pub fn unix_paths(&self) -> &[PathBuf] {
        &self.inner.unix_paths
    }

    /// The first TCP address the server listens on.
    ///
    /// # Panics
    ///
    /// If the server was started without any TCP listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addrs[0]
    }

    /// How many connections are open now.
    pub fn connection_count(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    /// Whether the listening sockets are open.
    pub fn is_listening(&self) -> bool {
        lock(&self.inner.listen).stop.is_some()
    }

    /// Close the listening sockets; new connections are refused. Open connections keep
    /// working. Returns once the sockets are closed.
    pub async fn stop_listening(&self) {
        let _op = self.inner.ops.lock().await;
        self.stop_listening_locked().await;
    }

    async fn stop_listening_locked(&self) {
        let (stop, done) = {
            let mut state = lock(&self.inner.listen);
            (state.stop.take(), state.done.take())
        };
        if let Some(stop) = stop {
            stop.close();
        }
        if let Some(done) = done {
            // Errors once every accept loop has exited and dropped its listener.
            let _ = done.recv().await;
        }
    }

    /// Bind the same addresses again and resume accepting. Does nothing if listening.
    ///
    /// # Errors
    ///
    /// When an address cannot be bound again (another process took the port); nothing
    /// is listening then. Also after a shutdown.
    pub async fn start_listening(&self) -> io::Result<()> {
        let _op = self.inner.ops.lock().await;
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(io::Error::other("server was shut down"));
        }
        if self.is_listening() {
            return Ok(());
        }
        let mut listeners = Vec::with_capacity(self.inner.addrs.len());
        for addr in &self.inner.addrs {
            listeners.push(Listener::Tcp(TcpListener::bind(*addr).await?));
        }
        #[cfg(unix)]
        for path in &self.inner.unix_paths {
            // Our own socket file from before the stop: replace it (only a socket).
            use std::os::unix::fs::FileTypeExt;
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(path);
            }
            listeners.push(Listener::Unix(async_net::unix::UnixListener::bind(path)?));
        }
        self.spawn_accept_loops(listeners);
        Ok(())
    }

    fn spawn_accept_loops(&self, listeners: Vec<Listener>) {
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);
        {
            let mut state = lock(&self.inner.listen);
            state.stop = Some(stop_tx);
            state.done = Some(done_rx);
        }
        let start = lock(&self.inner.start);
        if let Some(start) = start.as_ref() {
            for listener in listeners {
                start(listener, stop_rx.clone(), done_tx.clone());
            }
        }
    }

    /// Close everything now: the listeners and every connection (in-flight responses are
    /// cut). Returns once every connection task has ended.
    pub async fn shutdown(&self) {
        self.begin_shutdown().await;
        self.signal_all(Control::Kill);
        self.wait_idle().await;
        self.finish();
    }

    /// Stop accepting (new connections are refused), close idle keep-alive connections
    /// at once, let in-flight requests finish (their responses say `Connection: close`),
    /// and force-close what remains after `deadline`. Returns once every connection has
    /// ended.
    pub async fn shutdown_graceful(&self, deadline: Duration) {
        self.begin_shutdown().await;
        self.signal_all(Control::Graceful);
        let drained = async {
            self.wait_idle().await;
            true
        }
        .or(async {
            Clock::System.sleep(deadline).await;
            false
        })
        .await;
        if !drained {
            log::info!(
                "graceful shutdown deadline passed; closing {} connections",
                self.connection_count()
            );
            self.signal_all(Control::Kill);
            self.wait_idle().await;
        }
        self.finish();
    }

    /// Wait until every connection has closed (for example after a shutdown started
    /// elsewhere).
    pub async fn wait_idle(&self) {
        loop {
            if self.connection_count() == 0 {
                return;
            }
            let listener = self.inner.closed.listen();
            if self.connection_count() == 0 {
                return;
            }
            listener.await;
        }
    }

    async fn begin_shutdown(&self) {
        let _op = self.inner.ops.lock().await;
        self.inner.shutting_down.store(true, Ordering::Release);
        self.stop_listening_locked().await;
    }

    fn signal_all(&self, ctl: Control) {
        let conns: Vec<Arc<ConnShared>> = lock(&self.inner.conns).values().cloned().collect();
        for c in conns {
            c.signal(ctl);
        }
    }

    fn finish(&self) {
        // Drop the handler and configuration (the accept closure owns them).
        lock(&self.inner.start).take();
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.inner.addrs)
            .field("connections", &self.connection_count())
            .field("listening", &self.is_listening())
            .finish()
    }
}

/// Accept connections on `listener` until `stop` closes; then close the listener and
/// only then drop `done`, so `stop_listening` returns with the port closed.
async fn accept_loop<H: Handler>(
    listener: Listener,
    service: Arc<Service<H>>,
    stop: Receiver<()>,
    done: Sender<()>,
) {
    accept_until_stopped(&listener, &service, &stop).await;
    drop(listener);
    drop(done);
}

async fn accept_until_stopped<H: Handler>(
    listener: &Listener,
    service: &Arc<Service<H>>,
    stop: &Receiver<()>,
) {
    let inner = &service.inner;
    let fallback = listener
        .tcp_addr()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    loop {
        // At the connection limit: pause until one closes.
        while inner.live.load(Ordering::Acquire) >= inner.max_connections {
            let closed = inner.closed.listen();
            if inner.live.load(Ordering::Acquire) < inner.max_connections {
                break;
            }
            let stopped = async {
                closed.await;
                false
            }
            .or(async {
                let _ = stop.recv().await;
                true
            })
            .await;
            if stopped {
                return;
            }
        }
        let accepted = async { Some(listener.accept().await) }
            .or(async {
                let _ = stop.recv().await;
                None
            })
            .await;
        match accepted {
            None => return,
            Some(Ok(Accepted::Tcp(stream, peer))) => {
                spawn_connection(service, stream, peer, fallback);
            }
            #[cfg(unix)]
            Some(Ok(Accepted::Unix(stream))) => {
                spawn_io(
                    service,
                    async move { Ok(stream) },
                    UNIX_ADDR,
                    UNIX_ADDR,
                    true,
                );
            }
            Some(Err(e)) => {
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for resources; ECONNABORTED and
                // friends: the next accept will do.
                let pause = match e.raw_os_error() {
                    Some(23 | 24 | 105 | 12) => Duration::from_millis(100),
                    _ => Duration::from_millis(5),
                };
                log::warn!("accept failed: {e}; retrying in {pause:?}");
                let stopped = async {
                    Timer::after(pause).await;
                    false
                }
                .or(async {
                    let _ = stop.recv().await;
                    true
                })
                .await;
                if stopped {
                    return;
                }
            }
        }
    }
}

fn spawn_connection<H: Handler>(
    service: &Arc<Service<H>>,
    stream: TcpStream,
    peer: SocketAddr,
    fallback: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(fallback);
    let stream = match TcpTransport::new(service, stream) {
        Ok(stream) => stream,
        Err(e) => {
            log::debug!("connection from {peer}: registration failed: {e}");
            return;
        }
    };
    #[cfg(feature = "tls")]
    if let Some(tls) = service.tls.clone() {
        let handshake = async move {
            let accept = tls.acceptor.accept(stream);
            let timeout = async {
                Timer::after(tls.timeout).await;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timeout",
                ))
            };
            accept.or(timeout).await
        };
        spawn_io(service, handshake, peer, local, false);
        return;
    }
    spawn_io(service, async move { Ok(stream) }, peer, local, false);
}

/// An accepted TCP connection: in the server's edge-triggered set (Linux), or registered
/// with async-io.
enum TcpTransport {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Edge(crate::edge::EdgeIo),
    Reactor(TcpIo),
}

impl TcpTransport {
    fn new<H>(service: &Service<H>, stream: TcpStream) -> io::Result<Self> {
        let stream: Arc<Async<std::net::TcpStream>> = stream.into();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(set) = service.edge.as_ref().filter(|set| !set.failed()) {
            // Move the socket from async-io's one-shot registration to the set.
            match Arc::try_unwrap(stream) {
                Ok(io) => return Ok(Self::Edge(set.register(io.into_inner()?)?)),
                Err(stream) => return Ok(Self::Reactor(TcpIo::new(stream))),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = service;
        Ok(Self::Reactor(TcpIo::new(stream)))
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

/// Count, register and spawn one accepted connection; its task first runs `setup` (such
/// as a TLS handshake) to get the transport.
fn spawn_io<H, IO, F>(
    service: &Arc<Service<H>>,
    setup: F,
    peer: SocketAddr,
    local: SocketAddr,
    unix: bool,
) where
    H: Handler,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Future<Output = io::Result<IO>> + Send + 'static,
{
    let id = ConnectionId::next();
    let shared = Arc::new(ConnShared::new());
    let inner = &service.inner;
    inner.live.fetch_add(1, Ordering::AcqRel);
    lock(&inner.conns).insert(id, shared.clone());
    if inner.shutting_down.load(Ordering::Acquire) {
        shared.signal(Control::Graceful);
    }
    let guard = LiveGuard {
        inner: inner.clone(),
        id,
    };
    let spawner = service.spawner.clone();
    let service = service.clone();
    spawner.spawn(Box::pin(async move {
        let _guard = guard;
        let stream = match setup.await {
            Ok(stream) => stream,
            Err(e) => {
                log::debug!("connection {id} from {peer}: setup failed: {e}");
                return;
            }
        };
        let info = ConnInfo {
            id,
            peer,
            local,
            unix,
        };
        conn::run(
            stream,
            info,
            &service.handler,
            &service.config,
            &shared,
            Clock::System,
        )
        .await;
    }));
}

/// An accepted TCP stream that skips the read syscall that would fail with `EAGAIN`:
/// after a read that did not fill the buffer the socket is drained, so the next read
/// first waits for readiness (as tokio does). Saves one syscall per keep-alive request.
struct TcpIo {
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

/// Counts a connection as live until its task ends (or is dropped).
struct LiveGuard {
    inner: Arc<Inner>,
    id: ConnectionId,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        lock(&self.inner.conns).remove(&self.id);
        self.inner.live.fetch_sub(1, Ordering::AcqRel);
        self.inner.closed.notify(usize::MAX);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tiny async mutex for handle operations (stop, start, shutdown), built on
/// async-channel so no extra dependency is needed.
mod async_lock_free {
    use async_channel::{Receiver, Sender, bounded};

    /// One permit in a channel: `lock` takes it, the guard puts it back.
    pub(super) struct OpLock {
        tx: Sender<()>,
        rx: Receiver<()>,
    }

    pub(super) struct OpGuard<'a>(&'a OpLock);

    impl OpLock {
        pub(super) fn new() -> Self {
            let (tx, rx) = bounded(1);
            let _ = tx.try_send(());
            Self { tx, rx }
        }

        pub(super) async fn lock(&self) -> OpGuard<'_> {
            let _ = self.rx.recv().await;
            OpGuard(self)
        }
    }

    impl Drop for OpGuard<'_> {
        fn drop(&mut self) {
            let _ = self.0.tx.try_send(());
        }
    }
}
