//! Edge-triggered readiness for accepted TCP connections and their listener (Linux and
//! Android).
//!
//! async-io registers every socket in one-shot mode, so each wait for input re-arms the
//! socket with an `epoll_ctl` call: one extra system call per keep-alive request, about
//! 8% of the server's CPU time under load. Here the server's connections live in an
//! epoll set of their own, registered once in edge-triggered mode (as tokio and Go do),
//! and that set's descriptor is the one thing registered with async-io. (A server spawned
//! on a [`ThreadPool`](crate::ThreadPool) shares the pool's set instead, which the pool's
//! idle threads wait in themselves: `pool/park.rs`.) A driver task,
//! spawned with the server's spawner, waits on it through async-io, drains it with a
//! non-blocking `epoll_wait` and wakes the connections it names. Waiting stays in
//! async-io's reactor, so the server still runs on any executor; the re-arm is paid once
//! per batch of events instead of once per request. The listener joins the set too
//! ([`EdgeSet::register_listener`]): new connections then arrive through the same drain.
//!
//! Each connection keeps, per direction, a counter of the edges seen. A task that got
//! `WouldBlock` (or a read that did not fill the buffer: the socket is drained) records
//! the counter's value and waits until it moves, so an edge that arrives between the
//! system call and the wait is never lost. End of input and socket errors are states,
//! not edges: once reported they stay set, and every later wait returns at once.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use async_io::Async;
use atomic_waker::AtomicWaker;
use futures_lite::{AsyncRead, AsyncWrite, future::poll_fn};
use rustix::event::epoll;
use slab::Slab;

/// Events drained per `epoll_wait`.
const BATCH: usize = 256;

/// The key of the set's wake-up eventfd (no connection has it: slab keys are indices).
#[cfg(feature = "smol")]
const NOTIFY_KEY: u64 = u64::MAX;

/// One epoll set for a server's TCP connections, and the table of their wakers.
pub(crate) struct Mux {
    epoll: OwnedFd,
    /// For a set that threads wait in ([`Mux::for_threads`]): an eventfd in the set
    /// (edge-triggered, never read unless full), with which [`notify`](Self::notify)
    /// wakes the thread blocked in [`wait`](Self::wait).
    #[cfg(feature = "smol")]
    notify: Option<OwnedFd>,
    sources: Mutex<Slab<Arc<Source>>>,
    /// Holders: the server (one, until its service is dropped) and each connection.
    /// The driver ends when the count reaches zero.
    users: AtomicUsize,
    /// Wakes the driver when the last holder lets go.
    driver: AtomicWaker,
    /// The driver stopped on an error: nothing delivers edges any more. New connections
    /// use async-io's registration; a waiting one gets an error instead of waiting forever.
    failed: AtomicBool,
}

/// The server's share of a [`Mux`]: dropping it lets the driver end once the last
/// connection has closed too.
pub(crate) struct EdgeSet(Arc<Mux>);

impl EdgeSet {
    /// A new, empty set, with its driver future (to be spawned).
    pub(crate) fn new() -> io::Result<(Self, impl Future<Output = ()> + Send)> {
        let mux = Mux::new()?;
        Ok((Self(mux.clone()), mux.drive()))
    }

    /// A share of a set whose events are delivered by whoever owns it (a
    /// [`ThreadPool`](crate::ThreadPool) waiting in [`Mux::wait`] when idle), not by a
    /// driver task.
    #[cfg(feature = "smol")]
    pub(crate) fn sharing(mux: &Arc<Mux>) -> Self {
        mux.users.fetch_add(1, Ordering::AcqRel);
        Self(mux.clone())
    }

    /// Register `stream`, which must be non-blocking and have no duplicate descriptor
    /// (closing it is what takes it out of the set), and wrap it as a transport. With
    /// `wait_first`, the first read waits for the first edge instead of trying the
    /// socket at once (bytes already there are reported by the registration itself:
    /// epoll checks readiness on `EPOLL_CTL_ADD`).
    pub(crate) fn register(&self, stream: TcpStream, wait_first: bool) -> io::Result<EdgeIo> {
        self.0.register(stream, wait_first)
    }

    /// Register a listening socket (edge-triggered, for input only): its accept loop
    /// waits for the set's edges instead of re-arming async-io's one-shot registration
    /// after every `EAGAIN`, and new connections arrive through the same drain as their
    /// requests, so a busy server takes both without a turn of async-io's reactor.
    pub(crate) fn register_listener(
        &self,
        listener: Arc<Async<std::net::TcpListener>>,
    ) -> io::Result<EdgeListener> {
        let mux = &self.0;
        let flags = epoll::EventFlags::IN | epoll::EventFlags::ET;
        let (source, key) = mux.add(listener.get_ref(), flags)?;
        Ok(EdgeListener {
            listener,
            source,
            key,
            mux: mux.clone(),
        })
    }

    /// Whether the set stopped working (then connections should use async-io).
    pub(crate) fn failed(&self) -> bool {
        self.0.failed()
    }
}

impl Drop for EdgeSet {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[derive(Default)]
struct Source {
    read: Direction,
    write: Direction,
}

struct Direction {
    /// Edges delivered so far (starts at 1; a connection's "drained at" starts at 0).
    edges: AtomicU32,
    /// The peer closed this direction or the socket failed: a state, not an edge. The
    /// event that reported it may have been consumed by a read that also got the last
    /// bytes and looked drained, and no further edge follows, so from now on every poll
    /// goes to the socket (which answers at once: end of input, or the error).
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Default for Direction {
    fn default() -> Self {
        Self {
            edges: AtomicU32::new(1),
            closed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }
}

impl Direction {
    fn edge(&self, closed: bool) {
        if closed {
            self.closed.store(true, Ordering::Release);
        }
        self.edges.fetch_add(1, Ordering::AcqRel);
        self.waker.wake();
    }

    /// Whether an edge arrived after `seen` (or the direction is closed); if not, `cx`
    /// is woken by the next one.
    fn poll_edge(&self, seen: u32, cx: &mut Context<'_>) -> Poll<u32> {
        let now = self.edges.load(Ordering::Acquire);
        if now != seen || self.closed.load(Ordering::Acquire) {
            return Poll::Ready(now);
        }
        self.waker.register(cx.waker());
        let now = self.edges.load(Ordering::Acquire);
        if now != seen || self.closed.load(Ordering::Acquire) {
            Poll::Ready(now)
        } else {
            Poll::Pending
        }
    }
}

impl Mux {
    fn new() -> io::Result<Arc<Self>> {
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(Self::with(
            fd,
            #[cfg(feature = "smol")]
            None,
        ))
    }

    /// A set around `epoll` (and its wake-up eventfd, if any), held by its creator.
    fn with(epoll: OwnedFd, #[cfg(feature = "smol")] notify: Option<OwnedFd>) -> Arc<Self> {
        Arc::new(Self {
            epoll,
            #[cfg(feature = "smol")]
            notify,
            sources: Mutex::new(Slab::new()),
            users: AtomicUsize::new(1),
            driver: AtomicWaker::new(),
            failed: AtomicBool::new(false),
        })
    }

    /// A set that threads wait in themselves ([`wait`](Self::wait) blocking, woken by
    /// [`notify`](Self::notify)) instead of a driver task.
    #[cfg(feature = "smol")]
    pub(crate) fn for_threads() -> io::Result<Arc<Self>> {
        use rustix::event::{EventfdFlags, eventfd};
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let notify = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let flags = epoll::EventFlags::IN | epoll::EventFlags::ET;
        epoll::add(&fd, &notify, epoll::EventData::new_u64(NOTIFY_KEY), flags)?;
        Ok(Self::with(fd, Some(notify)))
    }

    fn release(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.driver.wake();
        }
    }

    /// Add `fd` to the set with `flags` under a new key; the caller becomes a holder.
    fn add(
        &self,
        fd: impl std::os::fd::AsFd,
        flags: epoll::EventFlags,
    ) -> io::Result<(Arc<Source>, usize)> {
        let source = Arc::new(Source::default());
        let key = lock(&self.sources).insert(source.clone());
        let data = epoll::EventData::new_u64(key as u64);
        if let Err(e) = epoll::add(&self.epoll, fd, data, flags) {
            lock(&self.sources).remove(key);
            return Err(e.into());
        }
        self.users.fetch_add(1, Ordering::AcqRel);
        Ok((source, key))
    }

    fn register(self: &Arc<Self>, stream: TcpStream, wait_first: bool) -> io::Result<EdgeIo> {
        let flags = epoll::EventFlags::IN
            | epoll::EventFlags::OUT
            | epoll::EventFlags::RDHUP
            | epoll::EventFlags::ET;
        let (source, key) = self.add(&stream, flags)?;
        Ok(EdgeIo {
            stream,
            source,
            key,
            mux: self.clone(),
            // Waiting first: counted as drained at the first edge count. The client's
            // first bytes mostly arrive just after the handshake that made `accept`
            // return, so reading at once failed with `EAGAIN` (0.95 times per request
            // under `Connection: close` load).
            read_drained_at: u32::from(wait_first),
            write_blocked_at: 0,
        })
    }

    /// Deliver the set's events until every holder (the server and its connections)
    /// has let go.
    async fn drive(self: Arc<Self>) {
        // The set is registered with async-io only while the driver waits: registered,
        // every event on a connection would also run async-io's epoll callback for the
        // set (a nested wake-up, paid by whoever delivers the packet: 2.7% of wrk's time
        // in the keep-alive benchmark).
        let mut watch = match self.epoll.try_clone() {
            Ok(fd) => Some(fd),
            Err(e) => return self.fail(&e),
        };
        loop {
            let registered = watch.take().map(Async::new_nonblocking);
            let waited = match registered {
                Some(Ok(set)) => {
                    let go = poll_fn(|cx| {
                        self.driver.register(cx.waker());
                        if self.users.load(Ordering::Acquire) == 0 {
                            return Poll::Ready(Ok(false));
                        }
                        set.poll_readable(cx).map_ok(|()| true)
                    })
                    .await;
                    set.into_inner().and_then(|fd| {
                        watch = Some(fd);
                        go
                    })
                }
                Some(Err(e)) => Err(e),
                None => Ok(false),
            };
            match waited {
                Ok(true) => {}
                // Every holder let go: no connection is left to wake.
                Ok(false) => return,
                Err(e) => return self.fail(&e),
            }
            // While events keep coming, look again after the connections just woken
            // have run: one `epoll_wait` per round instead of a trip through async-io's
            // reactor (five system calls in `polling`, plus this set's registration).
            loop {
                match self.drain() {
                    Some(0) => break,
                    Some(BATCH) => {}
                    Some(_) => futures_lite::future::yield_now().await,
                    None => return,
                }
            }
        }
    }

    /// One non-blocking `epoll_wait`: wake the connections it names. The number of
    /// events (`BATCH`: more may be waiting); `None` if the set failed.
    fn drain(&self) -> Option<usize> {
        self.wait(false, || ())
    }

    /// One `epoll_wait`, blocking until an event or a [`notify`](Self::notify) if
    /// `block`; `returned` runs as it returns, then the connections it names are woken.
    /// The number of events, the notification included (`BATCH`: more may be waiting);
    /// `None` if the set failed.
    pub(crate) fn wait(&self, block: bool, returned: impl FnOnce()) -> Option<usize> {
        let mut buf = [std::mem::MaybeUninit::<epoll::Event>::uninit(); BATCH];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let timeout = (!block).then_some(&zero);
        let events = loop {
            match epoll::wait(&self.epoll, &mut buf, timeout) {
                Ok((events, _)) => break events,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    returned();
                    self.fail(&e.into());
                    return None;
                }
            }
        };
        returned();
        let sources = lock(&self.sources);
        for ev in events.iter() {
            // The notification (`NOTIFY_KEY`) names no connection either.
            let Some(source) = usize::try_from(ev.data.u64())
                .ok()
                .and_then(|key| sources.get(key))
            else {
                continue; // a connection that just closed
            };
            let flags = ev.flags;
            let broken = flags.intersects(epoll::EventFlags::ERR | epoll::EventFlags::HUP);
            let read_closed = broken || flags.contains(epoll::EventFlags::RDHUP);
            if read_closed || flags.contains(epoll::EventFlags::IN) {
                source.read.edge(read_closed);
            }
            if broken || flags.contains(epoll::EventFlags::OUT) {
                source.write.edge(broken);
            }
        }
        Some(events.len())
    }

    /// Wake the thread blocked in [`wait`](Self::wait), or make its next one
    /// return at once. (Nothing without the eventfd: no thread waits in such a set.)
    #[cfg(feature = "smol")]
    pub(crate) fn notify(&self) {
        let Some(notify) = &self.notify else { return };
        let one = 1u64.to_ne_bytes();
        if let Err(rustix::io::Errno::AGAIN) = rustix::io::write(notify, &one) {
            // The counter is full (after 2^64 - 2 notifications): empty it, then add.
            let mut sink = [0u8; 8];
            let _ = rustix::io::read(notify, &mut sink);
            let _ = rustix::io::write(notify, &one);
        }
    }

    /// Whether the set stopped working.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The driver stops on `e`: mark the set failed and wake every connection, so each
    /// retries its system call and, if that would block, fails instead of waiting on an
    /// edge that will not come.
    fn fail(&self, e: &io::Error) {
        log::error!("edge-triggered epoll set failed ({e}): its connections close");
        self.failed.store(true, Ordering::Release);
        for (_, source) in lock(&self.sources).iter() {
            source.read.edge(true);
            source.write.edge(true);
        }
    }

    /// The error a connection gets when it would wait on a failed set.
    fn failed_error(&self) -> Option<io::Error> {
        self.failed
            .load(Ordering::Acquire)
            .then(|| io::Error::other("the edge-triggered epoll set failed"))
    }
}

/// An accepted TCP connection registered in a [`Mux`].
pub(crate) struct EdgeIo {
    stream: TcpStream,
    source: Arc<Source>,
    key: usize,
    mux: Arc<Mux>,
    /// The read edge count when a read last found the socket drained.
    read_drained_at: u32,
    /// The write edge count when a write last returned `WouldBlock`.
    write_blocked_at: u32,
}

impl EdgeIo {
    /// `sendfile`: up to `count` bytes of `file` from `*offset` (moved on by what was
    /// sent) straight to the socket. A full socket buffer (`EAGAIN`) waits for the next
    /// write edge, as a write does: never a spin.
    pub(crate) fn poll_sendfile(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |s| {
            rustix::fs::sendfile(s, file, Some(&mut *offset), count).map_err(io::Error::from)
        })
    }

    /// `send` with `MSG_MORE`: `buf` is not pushed to the network alone, but with what
    /// follows (the head of a response before its `sendfile`d body: one packet, as
    /// nginx's `tcp_nopush`).
    pub(crate) fn poll_send_more(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |s| {
            let flags = rustix::net::SendFlags::NOSIGNAL | rustix::net::SendFlags::MORE;
            rustix::net::send(s, buf, flags).map_err(io::Error::from)
        })
    }

    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let edges = match self.source.write.poll_edge(self.write_blocked_at, cx) {
                Poll::Ready(edges) => edges,
                Poll::Pending => return Poll::Pending,
            };
            match write(&self.stream) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(e) = self.mux.failed_error() {
                        return Poll::Ready(Err(e));
                    }
                    self.write_blocked_at = edges;
                }
                res => return Poll::Ready(res),
            }
        }
    }
}

impl AsyncRead for EdgeIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            let edges = match this.source.read.poll_edge(this.read_drained_at, cx) {
                Poll::Ready(edges) => edges,
                Poll::Pending => return Poll::Pending,
            };
            // rustix's raw system call: glibc's `recv` wraps it in thread-cancellation
            // bookkeeping (1.3% of the CPU time per keep-alive request under perf).
            match rustix::net::recv(&this.stream, &mut *buf, rustix::net::RecvFlags::empty())
                .map(|(n, _)| n)
                .map_err(io::Error::from)
            {
                Ok(n) => {
                    // A read that did not fill the buffer emptied the socket: the next
                    // read waits for an edge instead of failing with `WouldBlock`.
                    if n > 0 && n < buf.len() {
                        this.read_drained_at = edges;
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(e) = this.mux.failed_error() {
                        return Poll::Ready(Err(e));
                    }
                    this.read_drained_at = edges;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |s| {
            rustix::net::send(s, buf, rustix::net::SendFlags::NOSIGNAL).map_err(io::Error::from)
        })
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(std::net::Shutdown::Write))
    }
}

impl Drop for EdgeIo {
    fn drop(&mut self) {
        // No `EPOLL_CTL_DEL`: closing the socket right after this takes it out of the
        // set, as it was never duplicated (accepted with `accept4(SOCK_CLOEXEC)`, owned
        // here alone; a `fork` without `exec` could keep it in the set a little longer,
        // which only delivers stale events). Events for this key, already drained or
        // still to come, are skipped, or, if a new connection reused the key, cause it
        // one harmless retry.
        lock(&self.mux.sources).remove(self.key);
        self.mux.release();
    }
}

/// A listening socket registered in a [`Mux`] (see [`EdgeSet::register_listener`]).
pub(crate) struct EdgeListener {
    listener: Arc<Async<std::net::TcpListener>>,
    source: Arc<Source>,
    key: usize,
    mux: Arc<Mux>,
}

impl EdgeListener {
    /// The edges seen so far: read it before an `accept` that may find the queue empty,
    /// then [`wait`](Self::wait) with it, so that an edge in between is not lost.
    pub(crate) fn edges(&self) -> u32 {
        self.source.read.edges.load(Ordering::Acquire)
    }

    /// Whether the set stopped working: accept through async-io's readiness instead.
    pub(crate) fn failed(&self) -> bool {
        self.mux.failed()
    }

    /// Wait for an edge after `seen`. An error if the set failed (no edge would come).
    pub(crate) async fn wait(&self, seen: u32) -> io::Result<()> {
        poll_fn(|cx| self.source.read.poll_edge(seen, cx)).await;
        match self.mux.failed_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for EdgeListener {
    fn drop(&mut self) {
        lock(&self.mux.sources).remove(self.key);
        // The listener has other holders (and async-io's registration): take it out of
        // the set explicitly.
        let _ = epoll::delete(&self.mux.epoll, self.listener.get_ref());
        self.mux.release();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
