//! Servers on `127.0.0.1:0` for the tests, and response bodies they serve.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Timer;
use futures_lite::FutureExt;
use futures_lite::future::block_on;
use h1_server::{
    Body, BoxFuture, CloseReason, ConnectionId, Frame, Handler, Request, Response, Server,
    ServerConfig, ServerHandle, Spawner,
};

use crate::{Client, WAIT, wait_until};

/// A server on `127.0.0.1:<free port>` with its own executor thread; shut down (bounded)
/// when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// The running server.
    pub handle: ServerHandle,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl TestServer {
    /// Serve `handler` with a configuration changed by `configure`, on an executor thread
    /// of its own ([`one_thread`]: tests running in parallel do not share an executor).
    pub fn start<H: Handler>(configure: impl FnOnce(&mut ServerConfig), handler: H) -> Self {
        let mut server = bind();
        configure(server.config_mut());
        server.spawner(one_thread());
        Self::serve(server, handler)
    }

    /// Serve `handler` with `server` as it is (its spawner, its configuration).
    pub fn serve<H: Handler>(server: Server, handler: H) -> Self {
        let handle = server.serve(handler);
        let addr = handle.local_addr();
        Self { handle, addr }
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Send one request on a new connection and read its response.
    pub fn get(&self, path: &str) -> crate::Response {
        let mut c = self.connect();
        c.request(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        block_on(handle.shutdown().or(async {
            Timer::after(Duration::from_secs(5)).await;
        }));
    }
}

/// A spawner running its tasks on one new thread (an `async-executor` run by
/// `async_io::block_on`); the thread ends when the spawner and its clones are dropped.
/// Needs none of h1-server's features (its `ThreadPool` needs `smol`).
pub fn one_thread() -> impl Spawner + Clone {
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let runner = Arc::clone(&ex);
    std::thread::Builder::new()
        .name("test-server".into())
        .spawn(move || {
            async_io::block_on(runner.run(async move {
                let _ = stopped.recv().await;
            }))
        })
        .expect("spawn an executor thread");
    let stop = Arc::new(stop);
    move |fut: BoxFuture| {
        let _keep = &stop;
        ex.spawn(fut).detach();
    }
}

/// A server bound to `127.0.0.1:0`, not serving yet.
pub fn bind() -> Server {
    block_on(Server::bind("127.0.0.1:0")).expect("bind 127.0.0.1:0")
}

/// A server answering every request with the response `make` returns, handing the other
/// half (such as a stream's sender) to the test on the returned channel, with the request
/// path.
pub fn stream_server<T: Send + 'static>(
    make: impl Fn(&Request) -> (T, Response) + Send + Sync + 'static,
) -> (TestServer, mpsc::Receiver<(String, T)>) {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let server = TestServer::start(
        |_| {},
        move |req: Request| {
            let (sender, response) = make(&req);
            let _ = tx.lock().unwrap().send((req.path().to_owned(), sender));
            async move { response }
        },
    );
    (server, rx)
}

/// The next half handed over by [`stream_server`], waiting at most [`WAIT`].
pub fn next_sender<T>(rx: &mpsc::Receiver<(String, T)>) -> T {
    rx.recv_timeout(WAIT).expect("no stream started").1
}

/// Records what the connection hooks report: opens (id, peer) and closes (id, reason).
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    opened: Arc<Mutex<Vec<(ConnectionId, SocketAddr)>>>,
    closed: Arc<Mutex<Vec<(ConnectionId, CloseReason)>>>,
}

impl Hooks {
    /// Install `on_connect` and `on_close` hooks recording into `self`.
    pub fn install(&self, config: &mut ServerConfig) {
        let opened = self.opened.clone();
        let closed = self.closed.clone();
        config
            .on_connect(move |id, peer| opened.lock().unwrap().push((id, peer)))
            .on_close(move |id, reason| closed.lock().unwrap().push((id, reason.clone())));
    }

    /// The connections opened so far.
    pub fn opened(&self) -> Vec<(ConnectionId, SocketAddr)> {
        self.opened.lock().unwrap().clone()
    }

    /// The connections closed so far, with why.
    pub fn closed(&self) -> Vec<(ConnectionId, CloseReason)> {
        self.closed.lock().unwrap().clone()
    }

    /// Wait (bounded by [`WAIT`]) until `n` connections have closed; return them all.
    pub fn wait_closed(&self, n: usize) -> Vec<(ConnectionId, CloseReason)> {
        wait_until(&format!("{n} closed connections"), WAIT, || {
            self.closed.lock().unwrap().len() >= n
        });
        self.closed()
    }
}

/// A streamed body: `first\n` (flushed), then after `delay` `second\n`, then the end.
#[derive(Debug)]
pub struct SlowBody {
    step: u8,
    timer: Timer,
}

impl SlowBody {
    /// Wait `delay` between the two lines.
    pub fn new(delay: Duration) -> Self {
        Self {
            step: 0,
            timer: Timer::after(delay),
        }
    }
}

impl Body for SlowBody {
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::io::Result<Frame>>> {
        self.step += 1;
        match self.step {
            1 => Poll::Ready(Some(Ok(Frame::Data("first\n".into())))),
            2 => Poll::Ready(Some(Ok(Frame::Flush))),
            3 => match self.timer.poll(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::Data("second\n".into())))),
                Poll::Pending => {
                    self.step = 2;
                    Poll::Pending
                }
            },
            _ => Poll::Ready(None),
        }
    }
}
