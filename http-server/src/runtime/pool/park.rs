//! Idle pool threads wait in the server's edge-triggered set (Linux and Android).
//!
//! With `async_io::block_on`, an idle pool thread waits in async-io's reactor, where the
//! edge set's descriptor is registered while its driver task waits: each wait is five
//! system calls in `polling` (`timerfd_settime`, `epoll_ctl` for the timer,
//! `epoll_pwait`, a `read` and an `epoll_ctl` for the notifier) plus the set's own
//! registration and removal. Under `Connection: close` load that was 0.27 waits and
//! about 2 system calls per request. And while the thread is busy in a long write,
//! async-io's own thread takes the reactor over and from then on hands every event
//! across threads (0.2 `futex` and 0.3 context switches per 1 MiB response).
//!
//! Here the pool owns one edge set that the servers spawned on it share
//! ([`ThreadPool`](super::ThreadPool)'s `edge_set`), and an idle thread waits in that
//! set itself: one `epoll_wait`, which returns with the connections' events, or with the
//! eventfd that a wake-up from another thread writes. One thread waits there at a time;
//! the others sleep on their thread's parker and the waiting one, when it returns, wakes
//! one of them to take its place. async-io's reactor (timers, sockets outside the set,
//! signal pipes) is left to async-io's own thread, whose wake-ups reach the pool's
//! threads through their wakers, as any other thread's do.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use crate::runtime::edge::Mux;

/// The pool's edge set and who waits in it.
pub(super) struct Poller {
    pub(super) mux: Arc<Mux>,
    /// A thread is waiting in the set (or about to).
    waiting: AtomicBool,
    /// Threads asleep on their parker while another waits in the set.
    sleepers: Mutex<Vec<Arc<Signal>>>,
    /// How many `sleepers` there are: the waiting thread looks here, not in the list,
    /// when it stops (one thread: never a lock).
    asleep: AtomicUsize,
}

/// One thread's wake-up: its waker.
struct Signal {
    /// Woken since the thread last looked.
    woken: AtomicBool,
    /// The thread waits in the set: wake it through the eventfd, not its parker.
    in_set: AtomicBool,
    thread: Thread,
    mux: Arc<Mux>,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Sequentially consistent with the thread's own store to `in_set` and load of
        // `woken`: either the thread sees this wake-up before it blocks, or this sees the
        // thread in the set and writes the eventfd.
        if self.woken.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.in_set.load(Ordering::SeqCst) {
            self.mux.notify();
        } else {
            self.thread.unpark();
        }
    }
}

impl Poller {
    /// A new pool's set, unless the edge-triggered set is switched off
    /// ([`EDGE_ENV`](crate::runtime::EDGE_ENV)) or cannot be made.
    pub(super) fn for_pool() -> Option<Arc<Self>> {
        if !crate::runtime::edge_triggered_default() {
            return None;
        }
        match Mux::for_threads() {
            Ok(mux) => Some(Arc::new(Self::new(mux))),
            Err(e) => {
                log::warn!("thread pool: no edge-triggered set ({e}): waiting in async-io");
                None
            }
        }
    }

    fn new(mux: Arc<Mux>) -> Self {
        Self {
            mux,
            waiting: AtomicBool::new(false),
            sleepers: Mutex::new(Vec::new()),
            asleep: AtomicUsize::new(0),
        }
    }

    /// Run `fut` to completion on this thread, waiting in the set (or asleep, while
    /// another thread waits there) whenever it is pending.
    pub(super) fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(false),
            in_set: AtomicBool::new(false),
            thread: std::thread::current(),
            mux: self.mux.clone(),
        });
        let waker = Waker::from(signal.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            self.park(&signal);
        }
    }

    /// Wait until `signal` is woken, delivering the set's events meanwhile if no other
    /// thread does.
    fn park(&self, signal: &Arc<Signal>) {
        if self.mux.failed() {
            return sleep(signal);
        }
        while self
            .waiting
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // Another thread waits in the set; wake-ups reach this one through its waker,
            // and that thread wakes this one when it stops waiting. Listed first, then
            // checked again: a thread that stopped waiting before the listing found no
            // one to wake, and this one tries to take its place instead.
            self.list(|sleepers| sleepers.push(signal.clone()));
            let waiting = self.waiting.load(Ordering::SeqCst);
            if waiting {
                sleep(signal);
            }
            self.list(|sleepers| sleepers.retain(|s| !Arc::ptr_eq(s, signal)));
            if waiting {
                return;
            }
        }
        signal.in_set.store(true, Ordering::SeqCst);
        // Woken already (a task was scheduled, or the task loop yielded after a long
        // run): only look at the set, without blocking.
        let block = !signal.woken.load(Ordering::SeqCst);
        // Out of the set before the connections are woken: their tasks' wake-ups then
        // find this thread awake instead of writing the eventfd.
        let waited = self.mux.wait(block, || {
            signal.in_set.store(false, Ordering::SeqCst);
            self.waiting.store(false, Ordering::SeqCst);
            signal.woken.store(false, Ordering::SeqCst);
        });
        // This thread now runs what it woke, or leaves: let a sleeping one wait in the
        // set instead. (A thread only sleeps while another waits there, so this keeps
        // the set watched whenever a thread is idle.)
        if self.asleep.load(Ordering::SeqCst) > 0 {
            if let Some(next) = self.list(Vec::pop) {
                next.wake_by_ref();
            }
        }
        if waited.is_none() {
            // The set failed (logged, and its connections woken to fail): sleep on the
            // parker from now on.
            log::warn!("thread pool: waiting on the thread's parker from now on");
        }
    }

    /// Change the list of sleepers, keeping its count.
    fn list<T>(&self, change: impl FnOnce(&mut Vec<Arc<Signal>>) -> T) -> T {
        let mut sleepers = lock(&self.sleepers);
        let out = change(&mut sleepers);
        self.asleep.store(sleepers.len(), Ordering::SeqCst);
        out
    }
}

/// Sleep on the thread's parker until `signal` is woken.
fn sleep(signal: &Signal) {
    while !signal.woken.swap(false, Ordering::SeqCst) {
        std::thread::park();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::edge::EdgeSet;
    use futures_lite::AsyncReadExt;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// Waits (up to 5 s) until `cond` holds.
    fn until(what: &str, cond: impl Fn() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_thread_that_stops_waiting_hands_the_set_to_a_sleeping_one() {
        let poller = Arc::new(Poller::new(Mux::for_threads().unwrap()));
        let set = EdgeSet::sharing(&poller.mux);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let mut io = set.register(server, false).unwrap();

        // A waits in the set until told to stop.
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let a = {
            let poller = poller.clone();
            std::thread::spawn(move || poller.block_on(async move { stopped.recv().await }))
        };
        until("A waits in the set", || {
            poller.waiting.load(Ordering::SeqCst)
        });
        // B reads the connection; with A in the set it sleeps on its parker.
        let (read_tx, read_rx) = mpsc::channel();
        let b = {
            let poller = poller.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8];
                let n = poller.block_on(io.read(&mut buf));
                let _ = read_tx.send(n.map(|n| buf[..n].to_vec()).map_err(|e| e.kind()));
            })
        };
        until("B sleeps", || lock(&poller.sleepers).len() == 1);
        // A stops waiting and leaves: the connection's next edge must still be seen.
        stop.send_blocking(()).unwrap();
        a.join().unwrap().unwrap();
        client.write_all(b"hi").unwrap();
        let got = read_rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(got, Ok(Ok(b"hi".to_vec())), "B never saw the edge");
        b.join().unwrap();
    }
}
