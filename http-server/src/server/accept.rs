//! The accept loop: take connections off a listener and spawn a task for each.

use super::*;

/// Accept connections on `listener` until `stop` closes; then accept what the kernel
/// already queued (closing the listener would reset those connections: during a shutdown
/// each gets one response with `Connection: close`), close the listener and only then
/// drop `done`, so `stop_listening` returns with the port closed.
pub(super) async fn accept_loop<H: Handler>(
    listener: Listener,
    service: Arc<Service<H>>,
    stop: Receiver<()>,
    done: Sender<()>,
) {
    accept_until_stopped(&listener, &service, &stop).await;
    accept_queued(&listener, &service);
    drop(listener);
    drop(done);
}

async fn accept_until_stopped<H: Handler>(
    listener: &Listener,
    service: &Arc<Service<H>>,
    stop: &Receiver<()>,
) {
    let local = LocalAddr::of_listener(listener);
    let mut acceptor = Acceptor::new(listener, service);
    loop {
        if unless_stopped(stop, room_for_one(&service.inner))
            .await
            .is_none()
        {
            return;
        }
        let Some(accepted) = unless_stopped(stop, acceptor.accept()).await else {
            return;
        };
        match accepted {
            Ok(accepted) => spawn_accepted(service, accepted, local, Arrival::Fresh),
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for resources; ECONNABORTED and
                // friends: the next accept will do.
                let pause = match e.raw_os_error() {
                    Some(23 | 24 | 105 | 12) => Duration::from_millis(100),
                    _ => Duration::from_millis(5),
                };
                log::warn!("accept failed: {e}; retrying in {pause:?}");
                if unless_stopped(stop, Timer::after(pause)).await.is_none() {
                    return;
                }
            }
        }
    }
}

/// A listener's accepting side: through the server's edge-triggered set when the
/// listener could join it (TCP, Linux), else through async-io's readiness.
struct Acceptor<'a> {
    listener: &'a Listener,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    edge: Option<crate::runtime::edge::EdgeListener>,
}

impl<'a> Acceptor<'a> {
    fn new<H: Handler>(listener: &'a Listener, service: &Service<H>) -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let edge = match (listener, service.edge.as_ref().filter(|set| !set.failed())) {
            (Listener::Tcp(tcp), Some(set)) => set
                .register_listener(tcp.clone())
                .map_err(|e| log::debug!("listener not in the edge-triggered set: {e}"))
                .ok(),
            _ => None,
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = service;
        Self {
            listener,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            edge,
        }
    }

    async fn accept(&mut self) -> io::Result<Accepted> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // A failed set delivers no more edges: async-io's readiness from then on.
            if self.edge.as_ref().is_some_and(|e| e.failed()) {
                self.edge = None;
            }
            if let (Listener::Tcp(tcp), Some(edge)) = (self.listener, self.edge.as_ref()) {
                return accept_tcp(tcp, Some(edge)).await;
            }
        }
        self.listener.accept().await
    }
}

/// The most connections [`accept_queued`] takes off a stopping listener.
const MAX_QUEUED: usize = 4096;

/// Accept, without waiting, the connections already in the kernel's queue, past the
/// connection limit (they are answered once and closed during a shutdown).
fn accept_queued<H: Handler>(listener: &Listener, service: &Arc<Service<H>>) {
    let local = LocalAddr::of_listener(listener);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    for _ in 0..MAX_QUEUED {
        let accept = std::pin::pin!(listener.accept());
        match accept.poll(&mut cx) {
            Poll::Ready(Ok(accepted)) => {
                spawn_accepted(service, accepted, local, Arrival::Queued);
            }
            Poll::Ready(Err(_)) | Poll::Pending => return,
        }
    }
}

/// Spawn the task for an accepted connection.
fn spawn_accepted<H: Handler>(
    service: &Arc<Service<H>>,
    accepted: Accepted,
    local: LocalAddr,
    arrival: Arrival,
) {
    match accepted {
        Accepted::Tcp(stream, peer) => spawn_connection(service, stream, peer, local, arrival),
        #[cfg(unix)]
        Accepted::Unix(stream) => {
            spawn_io(
                service,
                async move { Ok(stream) },
                UNIX_ADDR,
                UNIX_ADDR,
                true,
            );
        }
    }
}

/// How an accepted connection met the server: its first read either waits for the
/// socket's first readiness edge or tries the socket at once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Just accepted: the client's first bytes mostly arrive after the handshake that
    /// made `accept` return, so the first read waits for them (no `EAGAIN`).
    Fresh,
    /// Taken off the queue of a stopping listener: its request is most likely there, and
    /// a graceful shutdown closes a connection whose first read finds nothing.
    Queued,
}

/// The local address of a listener's connections.
#[derive(Clone, Copy)]
struct LocalAddr {
    listener: SocketAddr,
}

impl LocalAddr {
    fn of_listener(listener: &Listener) -> Self {
        Self {
            listener: listener
                .tcp_addr()
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
        }
    }

    /// `stream`'s local address: the listener's, unless it is bound to a wildcard
    /// address (then a `getsockname` says which address the peer reached).
    fn of(self, stream: &std::net::TcpStream) -> SocketAddr {
        if self.listener.ip().is_unspecified() {
            stream.local_addr().unwrap_or(self.listener)
        } else {
            self.listener
        }
    }
}

/// `fut`'s output, or `None` once `stop` closes first.
async fn unless_stopped<T>(stop: &Receiver<()>, fut: impl Future<Output = T>) -> Option<T> {
    async { Some(fut.await) }
        .or(async {
            let _ = stop.recv().await;
            None
        })
        .await
}

/// At the connection limit: wait until a connection closes.
async fn room_for_one(inner: &Inner) {
    while inner.live.load(Ordering::Acquire) >= inner.max_connections {
        let closed = inner.closed.listen();
        if inner.live.load(Ordering::Acquire) < inner.max_connections {
            break;
        }
        closed.await;
    }
}

fn spawn_connection<H: Handler>(
    service: &Arc<Service<H>>,
    stream: std::net::TcpStream,
    peer: SocketAddr,
    local: LocalAddr,
    arrival: Arrival,
) {
    let _ = stream.set_nodelay(true);
    let local = local.of(&stream);
    let stream = match TcpTransport::new(service, stream, arrival) {
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
                // An alarm, not an async-io timer: arming one costs no system call.
                Clock::System.sleep(tls.timeout).await;
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
    let _ = shared.spawner.set(spawner.clone());
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
