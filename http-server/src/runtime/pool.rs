//! [`ThreadPool`]: one smol executor run by N threads.

use std::fmt;
use std::future::Future;

use super::{BoxFuture, Spawner};

/// An executor running on N background threads, and on any thread that calls
/// [`block_on`](Self::block_on): a multi-core spawner for one listener.
///
/// Every thread runs the same `smol::Executor`; tasks (the accept loop and each
/// connection) are picked up by whichever thread is free, and a connection's task may
/// move between threads. The thread in `block_on` also drives the I/O reactor, so with
/// `ThreadPool::new(0)` everything runs on the calling thread: the cheapest setup for one
/// core. Clones share the executor; dropping the last one stops the background threads
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
    inner: std::sync::Arc<PoolInner>,
}

struct PoolInner {
    ex: std::sync::Arc<smol::Executor<'static>>,
    stop: async_channel::Sender<()>,
    threads: usize,
}

impl ThreadPool {
    /// Start `threads` background executor threads (0: only threads in
    /// [`block_on`](Self::block_on) run tasks).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread.
    pub fn new(threads: usize) -> Self {
        let ex = std::sync::Arc::new(smol::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        for i in 0..threads {
            let ex = ex.clone();
            let stopped = stopped.clone();
            std::thread::Builder::new()
                .name(format!("http-server-{i}"))
                .spawn(move || {
                    async_io::block_on(ex.run(async move {
                        let _ = stopped.recv().await;
                    }))
                })
                .expect("failed to spawn an executor thread");
        }
        Self {
            inner: std::sync::Arc::new(PoolInner { ex, stop, threads }),
        }
    }

    /// How many background threads run the executor.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Run `fut` to completion on the current thread, which meanwhile also runs the
    /// pool's tasks and drives the I/O reactor.
    ///
    /// This thread takes tasks straight from the executor's shared queue, up to 200
    /// between two polls of the reactor (as `Executor::run` does), without a local
    /// queue to steal into: with every wake-up landing in the shared queue that saves
    /// about 4% of the user-space instructions per keep-alive request (callgrind).
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        let ex = &*self.inner.ex;
        let tasks = async {
            loop {
                // Wait for a task (polling the reactor meanwhile) and run it.
                ex.tick().await;
                // After 200 tasks in a row, let the reactor in; with fewer the queue ran
                // dry and `tick` waits on the reactor anyway.
                if (0..199).all(|_| ex.try_tick()) {
                    futures_lite::future::yield_now().await;
                }
            }
        };
        async_io::block_on(futures_lite::future::or(fut, tasks))
    }
}

impl Spawner for ThreadPool {
    fn spawn(&self, fut: BoxFuture) {
        self.inner.ex.spawn(fut).detach();
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
