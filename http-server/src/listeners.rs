//! Listening sockets from outside the process: systemd socket activation, inherited
//! descriptors, and `SO_REUSEPORT` (the `listeners` feature, Unix).
//!
//! # Socket activation
//!
//! systemd (or `systemd-socket-activate`, or any supervisor speaking the protocol) binds
//! the sockets and starts the server with them open from descriptor 3 on, announced by
//! `LISTEN_PID` (the process they are meant for), `LISTEN_FDS` (how many) and
//! `LISTEN_FDNAMES` (their names, `:`-separated). [`Server::from_systemd`] serves on them;
//! [`systemd_listeners`] hands them over for any other use.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use h1_server::{Request, Response, Server};
//!
//! // Under systemd (or `systemd-socket-activate -l 8080 ./server`): the inherited sockets;
//! // otherwise bind.
//! let server = match Server::from_systemd()? {
//!     Some(server) => server,
//!     None => Server::bind("127.0.0.1:8080").await?,
//! };
//! let handle = server.serve(|_req: Request| async { Response::text(200, "hi\n") });
//! # Ok(()) }
//! ```
//!
//! Descriptors are taken safely: each one is checked to be a TCP or Unix stream socket
//! that is listening before it becomes a listener (the listenfd crate does the conversion
//! from a raw descriptor, the one `unsafe` step, after checking the socket's family and
//! type; this crate keeps `#![forbid(unsafe_code)]`). `LISTEN_PID` must name this process,
//! so descriptors meant for a parent are never taken. Take them once, early in `main`:
//! `LISTEN_PID` and `LISTEN_FDS` are removed from the environment (so child processes do
//! not take them too), which is only sound while no other thread reads the environment.
//!
//! # Restarting without losing a request
//!
//! Two ways to start a new version of the server while the old one still runs:
//!
//! 1. **Shared listening socket** (preferred): a supervisor (systemd with a socket unit,
//!    or a parent process) owns the listening socket and hands it to each new process
//!    ([`Server::from_systemd`], or [`Server::from_listeners`] with a descriptor the
//!    program received another way). The new process starts accepting on it; then the
//!    old one gets SIGTERM (see `ServerHandle::shutdown_on_signals`, `signals` feature),
//!    stops accepting and drains. The socket and its queue of pending connections stay
//!    open throughout: no connection attempt is refused or lost.
//! 2. **`SO_REUSEPORT`** ([`Server::bind_reuseport`]): each process binds its own socket
//!    to the same address; the kernel spreads new connections over them. The new
//!    process binds, then the old one drains. On Linux, connections still waiting in
//!    the old socket's accept queue when it closes are reset, unless
//!    `net.ipv4.tcp_migrate_req = 1` (Linux 5.14+) moves them to the new socket: set it
//!    for zero-loss restarts this way, or prefer the shared socket.
//!
//! [`ServerHandle::stop_listening`](crate::ServerHandle::stop_listening) closes inherited
//! sockets like bound ones, and `start_listening` binds their addresses anew (without
//! `SO_REUSEPORT`): a supervisor's socket is not taken back.
//!
//! Either way, clients on the old process's keep-alive connections see them closed when
//! idle (or after a response carrying `Connection: close`) and reconnect to the new one,
//! as HTTP clients do for any closed keep-alive connection.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;

use socket2::{Domain, Protocol, Socket, Type};

use crate::Server;

/// A listening socket given to the process: TCP or Unix domain.
#[derive(Debug)]
pub enum Inherited {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix domain stream listener.
    Unix(UnixListener),
}

/// A listener from socket activation and its name (`LISTEN_FDNAMES`; `"unknown"` when
/// none was given, as systemd names them by default).
#[derive(Debug)]
pub struct Activated {
    /// The name the supervisor gave the socket (`FileDescriptorName=` in a socket unit,
    /// `--fdname` with `systemd-socket-activate`).
    pub name: String,
    /// The listener.
    pub listener: Inherited,
}

impl From<TcpListener> for Inherited {
    fn from(listener: TcpListener) -> Self {
        Self::Tcp(listener)
    }
}

impl From<UnixListener> for Inherited {
    fn from(listener: UnixListener) -> Self {
        Self::Unix(listener)
    }
}

/// The listeners of systemd's socket-activation protocol, in descriptor order (3, 4, …),
/// with their names: empty when the process was not socket-activated (`LISTEN_PID` absent
/// or naming another process). Descriptors that are not listening stream sockets are left
/// alone (with a warning). See the [module docs](self).
///
/// # Errors
///
/// When `LISTEN_FDS` is not a number, or a descriptor cannot be inspected.
pub fn systemd_listeners() -> io::Result<Vec<Activated>> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        == Some(std::process::id());
    let Ok(count) = std::env::var("LISTEN_FDS") else {
        return Ok(Vec::new());
    };
    if !for_us {
        return Ok(Vec::new());
    }
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "LISTEN_FDS is not a number"))?;
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':').filter(|n| !n.is_empty());
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Vec::with_capacity(count);
    for idx in 0..count.min(fds.len()) {
        let name = names.next().unwrap_or("unknown").to_owned();
        let listener = if let Ok(Some(tcp)) = fds.take_tcp_listener(idx) {
            checked(Inherited::Tcp(tcp))?
        } else if let Ok(Some(unix)) = fds.take_unix_listener(idx) {
            checked(Inherited::Unix(unix))?
        } else {
            log::warn!(
                "socket activation: descriptor {} ({name}) is not a stream socket; left alone",
                idx + 3
            );
            continue;
        };
        match listener {
            Some(listener) => out.push(Activated { name, listener }),
            None => log::warn!(
                "socket activation: descriptor {} ({name}) is not listening",
                idx + 3
            ),
        }
    }
    Ok(out)
}

/// `Some(listener)` if it is listening (`accept` on it can work).
fn checked(listener: Inherited) -> io::Result<Option<Inherited>> {
    let socket = match listener {
        Inherited::Tcp(l) => Socket::from(l),
        Inherited::Unix(l) => Socket::from(std::os::fd::OwnedFd::from(l)),
    };
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if !socket.is_listener()? {
        return Ok(None);
    }
    let unix = socket.local_addr()?.is_unix();
    let fd = std::os::fd::OwnedFd::from(socket);
    Ok(Some(if unix {
        Inherited::Unix(UnixListener::from(fd))
    } else {
        Inherited::Tcp(TcpListener::from(fd))
    }))
}

/// A TCP listener on `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`) set before `bind`, so
/// other processes (a newer version of the server) can listen on the same address at the
/// same time; non-blocking, with a backlog of 1024.
///
/// # Errors
///
/// When the socket cannot be created or bound (such as when a process holds the address
/// without `SO_REUSEPORT`, or under another user).
pub fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

impl Server {
    /// A server on the listeners of systemd's socket activation (see
    /// [`systemd_listeners`]), or `None` when the process was not socket-activated (or
    /// received no listening socket).
    ///
    /// # Errors
    ///
    /// As [`systemd_listeners`], or when a listener cannot be registered with the reactor.
    pub fn from_systemd() -> io::Result<Option<Self>> {
        let activated = systemd_listeners()?;
        if activated.is_empty() {
            return Ok(None);
        }
        Self::from_listeners(activated.into_iter().map(|a| a.listener)).map(Some)
    }

    /// A server on listening sockets the process already has (inherited from a parent,
    /// received over a Unix socket, created with [`reuseport_listener`]…).
    ///
    /// ```no_run
    /// # fn run() -> std::io::Result<()> {
    /// use h1_server::Server;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    /// let server = Server::from_listeners([listener])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When a listener cannot be registered with the reactor.
    pub fn from_listeners<L: Into<Inherited>>(
        listeners: impl IntoIterator<Item = L>,
    ) -> io::Result<Self> {
        let mut server = Self::new();
        for listener in listeners {
            server.add_inherited(listener.into())?;
        }
        Ok(server)
    }

    /// Serve on one more listening socket the process already has.
    ///
    /// # Errors
    ///
    /// When it cannot be registered with the reactor.
    pub fn add_inherited(&mut self, listener: Inherited) -> io::Result<&mut Self> {
        match listener {
            Inherited::Tcp(l) => self.add_std_listener(l),
            Inherited::Unix(l) => {
                l.set_nonblocking(true)?;
                Ok(self.add_unix_listener(async_net::unix::UnixListener::try_from(l)?))
            }
        }
    }

    /// Bind `addr` with `SO_REUSEPORT` (see [`reuseport_listener`]), for restarts where the
    /// new process binds while the old one still listens (see the [module docs](self)).
    /// [`ServerHandle::start_listening`](crate::ServerHandle::start_listening) binds again
    /// without it.
    ///
    /// # Errors
    ///
    /// When binding fails.
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<Self> {
        Self::from_listeners([reuseport_listener(addr)?])
    }
}
