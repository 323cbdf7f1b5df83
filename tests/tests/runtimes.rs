//! The server under other runtimes: tokio (as the spawner, as the transport through
//! tokio-util's compat, and async-net's listener bound inside a tokio runtime), async-std
//! (deprecated in favour of smol, still in use), a plain `async_executor::Executor`,
//! smol's global executor, and a two-thread `ThreadPool` serving requests at the same
//! time.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use futures_lite::future::block_on;
use h1_server::{
    BoxFuture, CloseReason, Request, Response, Server, ServerConfig, ThreadPool, Timeout,
    serve_connection,
};
use integration_tests::{Client, TestServer, WAIT, bind, get};
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Answers with where the handler ran: the thread name and whether a tokio runtime is
/// current; `/echo` echoes the body.
async fn where_am_i(mut req: Request) -> Response {
    if req.path() == "/echo" {
        return match req.bytes(1 << 20).await {
            Ok(b) => Response::bytes(200, b),
            Err(e) => Response::from_error(&e),
        };
    }
    let tokio = tokio::runtime::Handle::try_current().is_ok();
    let name = thread::current().name().unwrap_or("?").to_owned();
    Response::text(200, format!("{} tokio={tokio} thread={name}", req.path()))
}

/// A current-thread tokio runtime on its own thread, until the returned sender drops.
fn tokio_thread(name: &str) -> (tokio::runtime::Handle, tokio::sync::oneshot::Sender<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = rt.block_on(stopped);
        })
        .unwrap();
    (handle, stop)
}

fn exercise(c: &mut Client, marker: &str) {
    let r = c.request(&get("/a"));
    assert_eq!(r.text(), format!("/a {marker}"));
    // Pipelining and bodies work the same.
    c.send(format!(
        "{}POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping{}",
        get("/b"),
        get("/c")
    ));
    assert_eq!(c.read_response().text(), format!("/b {marker}"));
    assert_eq!(c.read_response().text(), "ping");
    assert_eq!(c.read_response().text(), format!("/c {marker}"));
}

#[test]
fn serves_under_tokio_as_the_spawner() {
    let (rt, _stop) = tokio_thread("tokio-rt");
    let mut server = bind();
    server.spawner(move |fut: BoxFuture| {
        rt.spawn(fut);
    });
    let server = TestServer::serve(server, where_am_i);
    let mut c = server.connect();
    exercise(&mut c, "tokio=true thread=tokio-rt");
    assert_eq!(server.get("/z").text(), "/z tokio=true thread=tokio-rt");
}

#[test]
fn serves_tokio_sockets_through_compat() {
    let (rt, _stop) = tokio_thread("tokio-io");
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (reason_tx, reason_rx) = std::sync::mpsc::channel();
    let mut config = ServerConfig::new();
    config.keep_alive_timeout(Duration::from_millis(300));
    let config = Arc::new(config);
    let handler = Arc::new(where_am_i);
    let accept = rt.clone();
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let local = stream.local_addr().unwrap();
            let (handler, config, reason_tx) = (handler.clone(), config.clone(), reason_tx.clone());
            accept.spawn(async move {
                let io = stream.compat();
                let reason = serve_connection(io, peer, local, handler, config).await;
                let _ = reason_tx.send(reason);
            });
        }
    });
    let addr = addr_rx.recv_timeout(WAIT).unwrap();
    let mut c = Client::connect(addr);
    exercise(&mut c, "tokio=true thread=tokio-io");
    // The keep-alive timer (async-io's) works under tokio as well.
    c.expect_closed();
    assert_eq!(
        reason_rx.recv_timeout(WAIT).unwrap(),
        CloseReason::Timeout(Timeout::KeepAlive)
    );
}

/// Everything inside a multi-thread tokio runtime: `Server::bind` (async-net's listener,
/// on async-io's reactor) awaited in `block_on`, tasks spawned on tokio, requests served,
/// the keep-alive timer firing, then a shutdown, all from tokio.
#[test]
fn serves_async_net_listener_inside_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tokio-mt")
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        let tokio = tokio::runtime::Handle::current();
        server.spawner(move |fut: BoxFuture| {
            tokio.spawn(fut);
        });
        server
            .config_mut()
            .keep_alive_timeout(Duration::from_millis(300));
        let handle = server.serve(where_am_i);
        let addr = handle.local_addr();
        // The blocking client runs beside the runtime's workers.
        tokio::task::spawn_blocking(move || {
            let mut c = Client::connect(addr);
            exercise(&mut c, "tokio=true thread=tokio-mt");
            c.expect_closed();
            let mut d = Client::connect(addr);
            assert_eq!(
                d.request(&get("/d")).text(),
                "/d tokio=true thread=tokio-mt"
            );
        })
        .await
        .unwrap();
        tokio::time::timeout(WAIT, handle.shutdown()).await.unwrap();
        assert_eq!(handle.connection_count(), 0);
    });
}

/// Bound inside `async_std::task::block_on`, every connection spawned with
/// `async_std::task::spawn`: the handler sees that it runs as an async-std task.
#[test]
fn serves_under_async_std() {
    async_std::task::block_on(async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        server.spawner(|fut: BoxFuture| {
            async_std::task::spawn(fut);
        });
        let handle = server.serve(|req: Request| async move {
            let task = async_std::task::try_current().is_some();
            Response::text(200, format!("{} async-std={task}", req.path()))
        });
        let addr = handle.local_addr();
        let texts = async_std::task::spawn_blocking(move || {
            let mut c = Client::connect(addr);
            let first = c.request(&get("/a")).text().to_owned();
            let second = c.request(&get("/b")).text().to_owned();
            [first, second]
        })
        .await;
        assert_eq!(texts, ["/a async-std=true", "/b async-std=true"]);
        async_std::future::timeout(WAIT, handle.shutdown())
            .await
            .unwrap();
        assert_eq!(handle.connection_count(), 0);
    });
}

#[test]
fn serves_under_a_plain_async_executor() {
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let runner = {
        let ex = ex.clone();
        thread::Builder::new()
            .name("plain-executor".to_owned())
            .spawn(move || block_on(ex.run(stopped.recv())))
            .unwrap()
    };
    let mut server = bind();
    {
        let ex = ex.clone();
        server.spawner(move |fut: BoxFuture| ex.spawn(fut).detach());
    }
    let server = TestServer::serve(server, where_am_i);
    let mut c = server.connect();
    exercise(&mut c, "tokio=false thread=plain-executor");
    drop(c);
    drop(server);
    stop.close();
    runner.join().unwrap().unwrap_err();
}

#[test]
fn serves_on_smols_global_executor_by_default() {
    let server = TestServer::serve(bind(), where_am_i);
    let r = server.get("/g");
    let marker = r
        .text()
        .strip_prefix("/g ")
        .unwrap_or_else(|| panic!("{r:?}"))
        .to_owned();
    assert!(marker.starts_with("tokio=false thread="), "{r:?}");
    let mut c = server.connect();
    exercise(&mut c, &marker);
}

/// Two handlers that each block their thread until both are running: only possible when
/// two threads serve at the same time.
#[test]
fn two_pool_threads_serve_requests_concurrently() {
    let rendezvous = Arc::new((Mutex::new(Vec::<String>::new()), Condvar::new()));
    let mut server = bind();
    server.spawner(ThreadPool::new(2));
    let server = {
        let rendezvous = rendezvous.clone();
        TestServer::serve(server, move |req: Request| {
            let rendezvous = rendezvous.clone();
            async move {
                if req.path() != "/meet" {
                    return Response::text(200, "ok");
                }
                let name = thread::current().name().unwrap_or("?").to_owned();
                let (lock, cvar) = &*rendezvous;
                let mut seen = lock.lock().unwrap();
                seen.push(name);
                cvar.notify_all();
                // Blocking on purpose (bounded): stands for CPU-bound work.
                let (seen, timeout) = cvar
                    .wait_timeout_while(seen, Duration::from_secs(5), |s| s.len() < 2)
                    .unwrap();
                let met = !timeout.timed_out();
                Response::text(200, format!("met={met} {}", seen.join(",")))
            }
        })
    };
    let mut a = server.connect();
    let mut b = server.connect();
    a.send(get("/meet"));
    b.send(get("/meet"));
    let ra = a.read_response();
    let rb = b.read_response();
    for r in [&ra, &rb] {
        assert!(r.text().starts_with("met=true "), "{r:?}");
    }
    let names: Vec<&str> = ra.text()["met=true ".len()..].split(',').collect();
    assert_eq!(names.len(), 2);
    assert_ne!(names[0], names[1], "both handlers ran on one thread");
    assert!(
        names.iter().all(|n| n.starts_with("http-server-")),
        "{names:?}"
    );
    // The pool keeps serving.
    assert_eq!(server.get("/x").text(), "ok");
}
