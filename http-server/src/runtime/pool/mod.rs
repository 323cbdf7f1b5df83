//! [`ThreadPool`]: one smol executor run by N threads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;

use super::{BoxFuture, Spawner};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod park;

/// An executor running on N background threads, and on any thread that calls
/// [`block_on`](Self::block_on): a multi-core spawner for one listener.
///
/// Every thread runs the same `smol::Executor`; tasks (the accept loop and each
/// connection) are picked up by whichever thread is free, and a connection's task may
/// move between threads. On Linux the pool has an edge-triggered epoll set that the
/// servers spawned on it share, and an idle thread waits in that set itself (one
/// `epoll_wait`), so with `ThreadPool::new(0)` everything runs on the calling thread: the
/// cheapest setup for one core. (Elsewhere, or with `H1_EDGE_TRIGGERED=0`, an idle thread
/// waits in async-io's reactor.) Clones share the executor; dropping the last one stops the background threads
/// once their current poll returns, abandoning the tasks.
///
/// ```no_run
/// use h1_server::{Request, Response, Server, ThreadPool};
///
/// let pool = ThreadPool::new(1); // this thread in block_on, plus one more
/// pool.block_on(async {
///     let mut server = Server::bind("127.0.0.1:8080").await?;
///     server.spawner(pool.clone());
///     let _handle = server.serve(|_req: Request| async { Response::text(200, "hi\n") });
///     std::future::pending::<std::io::Result<()>>().await
/// })
/// # .unwrap();
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    ex: Arc<smol::Executor<'static>>,
    stop: async_channel::Sender<()>,
    threads: usize,
    /// The edge-triggered set the pool's idle threads wait in, shared by the servers
    /// spawned on the pool (none: they wait in async-io's reactor).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    poller: Option<Arc<park::Poller>>,
}

impl ThreadPool {
    /// Start `threads` background executor threads (0: only threads in
    /// [`block_on`](Self::block_on) run tasks).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread.
    pub fn new(threads: usize) -> Self {
        let ex = Arc::new(smol::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let inner = Arc::new(PoolInner {
            ex,
            stop,
            threads,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            poller: park::Poller::for_pool(),
        });
        for i in 0..threads {
            let pool = Self {
                inner: inner.clone(),
            };
            let stopped = stopped.clone();
            std::thread::Builder::new()
                .name(format!("http-server-{i}"))
                .spawn(move || {
                    let ex = pool.inner.ex.clone();
                    let poller = pool.poller();
                    // The thread holds no share of the pool: dropping the last clone
                    // stops it.
                    drop(pool);
                    let run = ex.run(async move {
                        let _ = stopped.recv().await;
                    });
                    match poller {
                        #[cfg(any(target_os = "linux", target_os = "android"))]
                        Some(poller) => poller.block_on(run),
                        _ => async_io::block_on(run),
                    }
                })
                .expect("failed to spawn an executor thread");
        }
        Self { inner }
    }

    /// The edge-triggered set this pool's idle threads wait in, if it has one.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn poller(&self) -> Option<Arc<park::Poller>> {
        self.inner.poller.clone()
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn poller(&self) -> Option<std::convert::Infallible> {
        None
    }

    /// A share of the pool's edge-triggered set for a server spawned on the pool: its
    /// connections' events are then delivered by the pool's idle threads, with no driver
    /// task. `None` if the pool has no working set.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn edge_set(&self) -> Option<crate::runtime::edge::EdgeSet> {
        let poller = self.inner.poller.as_ref()?;
        (!poller.mux.failed()).then(|| crate::runtime::edge::EdgeSet::sharing(&poller.mux))
    }

    /// How many background threads run the executor.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Run `fut` to completion on the current thread, which meanwhile also runs the
    /// pool's tasks and, when idle, waits for the pool's I/O events.
    ///
    /// This thread takes tasks straight from the executor's shared queue, up to 200
    /// between two looks at the I/O events (as `Executor::run` does), without a local
    /// queue to steal into: with every wake-up landing in the shared queue that saves
    /// about 4% of the user-space instructions per keep-alive request (callgrind).
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        let ex = &*self.inner.ex;
        let tasks = async {
            loop {
                // Wait for a task (waiting for I/O meanwhile) and run it.
                ex.tick().await;
                // After 200 tasks in a row, look at the I/O events; with fewer the queue
                // ran dry and `tick` waits for them anyway.
                if (0..199).all(|_| ex.try_tick()) {
                    futures_lite::future::yield_now().await;
                }
            }
        };
        let both = futures_lite::future::or(polled_when_woken(fut), tasks);
        match self.poller() {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(poller) => poller.block_on(both),
            _ => async_io::block_on(both),
        }
    }
}

/// `fut`, polled only when its own waker was woken (and on the first poll).
///
/// `block_on` polls its whole future whenever any part of it is woken, and the pool's
/// task loop is woken for every task it runs; the user's future (typically
/// [`shutdown_on_signals`](crate::ServerHandle::shutdown_on_signals), whose signal pipe
/// is read on every poll) would be polled as often, each time a system call that finds
/// nothing. Under `Connection: close` load that was 0.78 extra `recvfrom` per request.
fn polled_when_woken<T>(fut: impl Future<Output = T>) -> impl Future<Output = T> {
    let flag = Arc::new(WokenFlag {
        woken: AtomicBool::new(true),
        outer: AtomicWaker::new(),
    });
    let waker = Waker::from(flag.clone());
    let mut fut = Box::pin(fut);
    futures_lite::future::poll_fn(move |cx| {
        flag.outer.register(cx.waker());
        if !flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        fut.as_mut().poll(&mut Context::from_waker(&waker))
    })
}

/// The waker [`polled_when_woken`] gives its future: records the wake, then passes it on.
struct WokenFlag {
    woken: AtomicBool,
    outer: AtomicWaker,
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.outer.wake();
    }
}

impl Spawner for ThreadPool {
    fn spawn(&self, fut: BoxFuture) {
        self.inner.ex.spawn(fut).detach();
    }

    fn thread_pool(&self) -> Option<&ThreadPool> {
        Some(self)
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        self.stop.close();
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.inner.threads)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn block_on_polls_its_future_only_when_woken() {
        use std::sync::atomic::AtomicUsize;
        let pool = ThreadPool::new(0);
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);
        let mut recv = Box::pin(async move {
            let _ = done_rx.recv().await;
        });
        // Woken once: when `done` is sent.
        let watched = futures_lite::future::poll_fn(move |cx| {
            counted.fetch_add(1, Ordering::SeqCst);
            recv.as_mut().poll(cx)
        });
        // 1000 task wake-ups on the pool meanwhile.
        let spawner = pool.clone();
        pool.spawn(Box::pin(async move {
            for _ in 0..1000 {
                futures_lite::future::yield_now().await;
            }
            let _ = done_tx.send(()).await;
            drop(spawner);
        }));
        pool.block_on(watched);
        let polls = polls.load(Ordering::SeqCst);
        assert!(polls <= 2, "polled {polls} times for one wake-up");
    }

    /// Runs `f` on a new thread; its result, or `None` if it takes over 10 s.
    fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10)).ok()
    }

    #[test]
    fn a_thread_waiting_in_the_set_is_woken_from_other_threads() {
        let pool = ThreadPool::new(0);
        if crate::runtime::edge_triggered_default() {
            assert!(pool.poller().is_some(), "no edge set for the pool");
        }
        let done = bounded(move || {
            pool.block_on(async {
                // Woken by another thread while this one waits in the set (the eventfd).
                let (tx, rx) = async_channel::bounded(1);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    let _ = tx.send_blocking(7);
                });
                let got = rx.recv().await.unwrap();
                // Woken by async-io's thread, which drives its reactor's timers now.
                async_io::Timer::after(Duration::from_millis(10)).await;
                got
            })
        });
        assert_eq!(done, Some(7));
    }

    #[test]
    fn thread_pool_runs_tasks_on_its_threads() {
        let pool = ThreadPool::new(2);
        let (tx, rx) = mpsc::channel();
        for _ in 0..4 {
            let tx = tx.clone();
            pool.spawn(Box::pin(async move {
                let name = std::thread::current().name().map(str::to_owned);
                tx.send(name).unwrap();
            }));
        }
        for _ in 0..4 {
            let name = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(name.unwrap().starts_with("http-server-"));
        }
    }
}
