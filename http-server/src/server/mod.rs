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
use async_net::{AsyncToSocketAddrs, TcpListener};
use event_listener::Event;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt, ready};

mod accept;
mod handle;
pub(crate) mod transport;

use self::accept::accept_loop;
use self::transport::TcpTransport;
use crate::close::ConnectionId;
use crate::config::ServerConfig;
use crate::conn::{self, Clock, ConnInfo};
use crate::handler::Handler;
use crate::runtime::{Spawner, SpawnerDebug, default_spawner};
use crate::shared::{ConnShared, Control};

/// The listen backlog of [`Server::bind`]'s sockets (Linux caps it at
/// `net.core.somaxconn`, 4096 by default).
#[cfg(any(target_os = "linux", target_os = "android"))]
const LISTEN_BACKLOG: i32 = 4096;

/// A server being set up: its listening sockets, its [`ServerConfig`] and its
/// [`Spawner`]. [`serve`](Self::serve) starts it and returns a [`ServerHandle`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// use h1_server::{Request, Response, Server};
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
///   close the listening sockets and bind the same addresses again; open connections
///   keep working meanwhile.
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
    /// Registered with async-io: its readiness wakes the accept loop. Accepted sockets
    /// are not (see [`Listener::accept`]).
    Tcp(Arc<Async<std::net::TcpListener>>),
    #[cfg(unix)]
    Unix(async_net::unix::UnixListener),
}

/// An accepted connection.
enum Accepted {
    /// Non-blocking, and registered nowhere yet.
    Tcp(std::net::TcpStream, SocketAddr),
    #[cfg(unix)]
    Unix(async_net::unix::UnixStream),
}

impl Listener {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Self::Tcp(l) => {
                accept_tcp(
                    l,
                    #[cfg(any(target_os = "linux", target_os = "android"))]
                    None,
                )
                .await
            }
            #[cfg(unix)]
            Self::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        }
    }

    fn tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(l) => l.get_ref().local_addr().ok(),
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

/// Accept a TCP connection, already non-blocking. On Linux `accept4` makes it
/// non-blocking and close-on-exec in the one system call, and it goes straight to its
/// transport (the edge-triggered set, usually): registering it with async-io first, as
/// `async_net` does, cost two `epoll_ctl` calls and an `ioctl` per connection. Each
/// wake-up of the listener accepts until the queue is empty (`EAGAIN`).
///
/// With `edge` (the listener registered in the server's edge-triggered set), an empty
/// queue waits for the set's next edge; otherwise for async-io's readiness, which
/// re-arms the listener's one-shot registration (an `epoll_ctl`) every time.
async fn accept_tcp(
    listener: &Async<std::net::TcpListener>,
    #[cfg(any(target_os = "linux", target_os = "android"))] edge: Option<
        &crate::runtime::edge::EdgeListener,
    >,
) -> io::Result<Accepted> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    loop {
        use rustix::net::SocketFlags;
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let seen = edge.map(|e| e.edges());
        match rustix::net::acceptfrom_with(listener.get_ref(), flags) {
            Ok((fd, peer)) => {
                let peer = peer
                    .and_then(|peer| SocketAddr::try_from(peer).ok())
                    .unwrap_or(UNIX_ADDR);
                return Ok(Accepted::Tcp(fd.into(), peer));
            }
            Err(rustix::io::Errno::AGAIN) => match (edge, seen) {
                (Some(edge), Some(seen)) => edge.wait(seen).await?,
                _ => listener.readable().await?,
            },
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (stream, peer) = listener.read_with(|l| l.accept()).await?;
        stream.set_nonblocking(true)?;
        Ok(Accepted::Tcp(stream, peer))
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
    /// `None` when switched off ([`ServerConfig::edge_triggered`]) or it could not be
    /// created: then async-io's registration is used.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    edge: Option<crate::runtime::edge::EdgeSet>,
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
        // std listens with a backlog of 128: a burst of connects (10,000 at once) overflows
        // it while the accept loop waits its turn. Listening again only resizes the queue.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        rustix::net::listen(&listener, LISTEN_BACKLOG)?;
        self.listeners.push(Listener::Tcp(listener.into()));
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
    /// use h1_server::{Request, Response, Server};
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
        self.listeners.push(Listener::Tcp(listener.into()));
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
            .push(Listener::Tcp(Arc::new(Async::new_nonblocking(listener)?)));
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
    pub fn set_config(&mut self, config: impl Into<ServerConfig>) -> &mut Self {
        let config = config.into();
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
    /// # async fn run(tls: std::sync::Arc<h1_server::rustls::ServerConfig>) -> std::io::Result<()> {
    /// use h1_server::{Request, Response, Server};
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
    /// the `smol` feature). See `ThreadPool` (`smol` feature) for N threads.
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
        let edge = self
            .config
            .edge_triggered
            .then(|| edge_set(&*spawner))
            .and_then(|made| match made {
                Ok(set) => Some(set),
                Err(e) => {
                    log::warn!("edge-triggered epoll set unavailable ({e}): using async-io's");
                    None
                }
            });
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

/// The edge-triggered set a new server's connections join: its spawner's, if that is a
/// [`ThreadPool`](crate::ThreadPool) with one (its idle threads deliver the events), or
/// a set of the server's own, with its driver task spawned.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn edge_set(spawner: &dyn Spawner) -> io::Result<crate::runtime::edge::EdgeSet> {
    #[cfg(feature = "smol")]
    if let Some(set) = spawner.thread_pool().and_then(crate::ThreadPool::edge_set) {
        return Ok(set);
    }
    let (set, driver) = crate::runtime::edge::EdgeSet::new()?;
    spawner.spawn(Box::pin(driver));
    Ok(set)
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::{BoxFuture, Request, Server};

    /// How many tasks `serve` spawns for one listener with the edge set `on` or off.
    fn tasks_spawned(on: bool) -> usize {
        let spawned = Arc::new(AtomicUsize::new(0));
        let count = spawned.clone();
        async_io::block_on(async {
            let mut server = Server::bind("127.0.0.1:0").await.unwrap();
            server.config_mut().edge_triggered(on);
            // Count the tasks and drop them: nothing needs to run.
            server.spawner(move |_task: BoxFuture| {
                count.fetch_add(1, Ordering::SeqCst);
            });
            let handle = server.serve(|_req: Request| async { "" });
            drop(handle);
        });
        spawned.load(Ordering::SeqCst)
    }

    #[test]
    fn the_edge_switch_decides_whether_the_edge_set_runs() {
        // On: the edge set's driver task besides the accept loop; off: no driver.
        assert_eq!(tasks_spawned(true), tasks_spawned(false) + 1);
    }
}
