//! Loopback checks of the driver where the socket is the point: the write timeout in the
//! edge-triggered set, the connection limit, listening, shutdown, thread pools, runtimes,
//! curl. Protocol behaviour is tested on the connection kit (tests/framing.rs,
//! tests/protocol.rs).
#![cfg(feature = "smol")]

use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::{AsyncReadExt, FutureExt, future};
use h1_server::{
    CloseReason, Request, Response, Server, ServerConfig, ServerHandle, ThreadPool, Timeout,
};
use integration_tests::Client;

fn block_on<T>(fut: impl Future<Output = T>) -> T {
    future::block_on(fut.or(async {
        Timer::after(Duration::from_secs(30)).await;
        panic!("test timed out")
    }))
}

async fn app(mut req: Request) -> Response {
    match req.path() {
        "/echo" => Response::stream(200, req.take_body()),
        "/len" => match req.bytes(1 << 20).await {
            Ok(b) => Response::text(200, format!("{}", b.len())),
            Err(e) => Response::from_error(&e),
        },
        "/read-err" => {
            let mut buf = Vec::new();
            match req.body_mut().read_to_end(&mut buf).await {
                Ok(_) => Response::text(200, "ok"),
                Err(e) => Response::text(408, e.to_string()),
            }
        }
        "/sleep" => {
            Timer::after(Duration::from_millis(300)).await;
            Response::text(200, "slept")
        }
        "/hang" => future::pending().await,
        "/hints" => {
            let mut hints = h1_server::Headers::new();
            hints.append("Link", "</style.css>; rel=preload; as=style");
            req.send_early_hints(hints).await;
            Timer::after(Duration::from_millis(20)).await;
            Response::text(200, "page")
        }
        "/big" => Response::bytes(200, vec![b'x'; 8 << 20]),
        "/panic" => panic!("boom"),
        "/close" => Response::close(),
        "/no-content" => Response::text(204, "dropped"),
        "/bad-header" => Response::text(200, "never").header("X-Bad", "a\r\nb"),
        _ => Response::text(200, "hi"),
    }
}

fn start(config: impl FnOnce(&mut ServerConfig)) -> ServerHandle {
    block_on(async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        config(server.config_mut());
        server.serve(app)
    })
}

/// Everything until the server closes the connection, as text.
fn read_all(s: &mut Client) -> String {
    String::from_utf8_lossy(&s.read_to_end()).into_owned()
}

#[test]
fn write_timeout_drops_a_client_that_stopped_reading() {
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r2 = reasons.clone();
    let h = start(move |c| {
        c.write_timeout(Duration::from_millis(300));
        c.on_close(move |_, r| r2.lock().unwrap().push(r.clone()));
    });
    let mut s = Client::connect(h.local_addr());
    s.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    let t0 = Instant::now();
    while reasons.lock().unwrap().is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        reasons.lock().unwrap().as_slice(),
        [CloseReason::Timeout(Timeout::Write)]
    );
    block_on(h.shutdown());
}

#[test]
fn connection_limit_pauses_accepting() {
    let h = start(|c| {
        c.max_connections(2);
    });
    let _a = Client::connect(h.local_addr());
    let mut b = Client::connect(h.local_addr());
    b.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    b.read_until(b"hi");
    let mut c = Client::connect(h.local_addr());
    c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        c.is_quiet_for(Duration::from_millis(300)),
        "third connection was served at the limit"
    );
    drop(b);
    c.read_until(b"hi");
    let text = String::from_utf8_lossy(c.buffered()).into_owned();
    assert!(text.contains("200 OK"));
    block_on(h.shutdown());
}

#[test]
fn stop_and_start_listening_keep_open_connections() {
    let h = start(|_| {});
    let addr = h.local_addr();
    let mut open = Client::connect(addr);
    // Served once, so the connection is surely accepted (one still in the kernel's
    // accept queue is reset when the listener closes).
    open.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    open.read_response();
    block_on(h.stop_listening());
    assert!(!h.is_listening());
    assert!(TcpStream::connect(addr).is_err());
    open.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    open.read_response();
    block_on(h.start_listening()).unwrap();
    let mut again = Client::connect(addr);
    again.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    again.read_response();
    block_on(h.shutdown());
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let h = start(|_| {});
    let addr = h.local_addr();
    let mut busy: Vec<Client> = (0..20).map(|_| Client::connect(addr)).collect();
    let idle = Client::connect(addr);
    for s in &mut busy {
        s.send(b"GET /sleep HTTP/1.1\r\nHost: a\r\n\r\n");
    }
    std::thread::sleep(Duration::from_millis(100));
    let h2 = h.clone();
    let t = std::thread::spawn(move || block_on(h2.shutdown_graceful(Duration::from_secs(5))));
    for s in &mut busy {
        let text = read_all(s);
        assert!(text.contains("slept"), "{text}");
        assert!(text.contains("Connection: close") || text.contains("connection: close"));
    }
    let mut idle = idle;
    idle.expect_closed();
    t.join().unwrap();
    assert!(TcpStream::connect(addr).is_err());
    assert_eq!(h.connection_count(), 0);
}

#[test]
fn immediate_shutdown_cuts_everything() {
    let h = start(|_| {});
    let mut s = Client::connect(h.local_addr());
    // A handler that never finishes: whenever the shutdown comes, it cuts the request.
    s.send(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    block_on(h.shutdown());
    assert_eq!(read_all(&mut s), "");
    assert_eq!(h.connection_count(), 0);
}

#[test]
fn panics_become_500_and_close_hooks_run() {
    let closed = Arc::new(AtomicUsize::new(0));
    let c2 = closed.clone();
    let h = start(move |c| {
        c.on_close(move |_, _| {
            c2.fetch_add(1, Ordering::SeqCst);
        });
    });
    let mut s = Client::connect(h.local_addr());
    s.send(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n");
    let text = read_all(&mut s);
    assert!(text.starts_with("HTTP/1.1 500"), "{text}");
    let mut s = Client::connect(h.local_addr());
    s.send(b"GET /close HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(read_all(&mut s), "");
    block_on(h.wait_idle());
    assert_eq!(closed.load(Ordering::SeqCst), 2);
    block_on(h.shutdown());
}

#[test]
fn thread_pool_of_two_serves() {
    let h = block_on(async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        server.spawner(ThreadPool::new(2));
        server.serve(|_req: Request| async {
            Response::text(200, std::thread::current().name().unwrap_or("?").to_owned())
        })
    });
    let mut s = Client::connect(h.local_addr());
    for _ in 0..10 {
        let r = s.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(r.text().contains("http-server-"), "{}", r.text());
        assert!(r.head.contains("200 OK"));
    }
    block_on(h.shutdown());
}

/// A server with the edge-triggered set switched off, on a pool whose idle thread waits
/// in the pool's own set: the connections' readiness comes from async-io's reactor,
/// which async-io's thread drives, and reaches the pool's thread through its waker.
#[test]
fn a_pool_serves_a_server_whose_edge_set_is_off() {
    let pool = ThreadPool::new(0);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let runner = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.block_on(async {
                let mut server = Server::bind("127.0.0.1:0").await.unwrap();
                server.config_mut().edge_triggered(false);
                server.spawner(pool.clone());
                let h = server.serve(app);
                addr_tx.send(h.local_addr()).unwrap();
                let _ = stop_rx.recv().await;
                h.shutdown().await;
            })
        })
    };
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    for _ in 0..3 {
        let mut s = Client::connect(addr);
        for _ in 0..5 {
            let r = s.request("POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
            assert!(r.head.contains("200 OK"), "{}", r.head);
            assert_eq!(r.text(), "3");
        }
    }
    stop_tx.send_blocking(()).unwrap();
    runner.join().unwrap();
}

#[test]
fn serves_under_tokio_through_compat() {
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let config = Arc::new(ServerConfig::new());
            let handler = Arc::new(app);
            loop {
                let (stream, peer) = listener.accept().await.unwrap();
                let local = stream.local_addr().unwrap();
                let fut = h1_server::serve_connection(
                    stream.compat(),
                    peer,
                    local,
                    handler.clone(),
                    config.clone(),
                );
                tokio::spawn(fut);
            }
        });
        addr
    });
    let client = std::thread::spawn(move || {
        let mut s = Client::connect(addr);
        s.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        read_all(&mut s)
    });
    let text = rt.block_on(async {
        loop {
            if client.is_finished() {
                return client.join().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("hello"),
        "{text}"
    );
}

#[test]
fn serves_on_a_plain_async_executor() {
    let ex = Arc::new(async_executor::Executor::new());
    let spawner = {
        let ex = ex.clone();
        move |fut: h1_server::BoxFuture| ex.spawn(fut).detach()
    };
    let text = block_on(ex.run(async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        server.spawner(spawner);
        let h = server.serve(app);
        let addr = h.local_addr();
        let text = blocking::unblock(move || {
            let mut s = Client::connect(addr);
            s.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            read_all(&mut s)
        })
        .await;
        h.shutdown().await;
        text
    }));
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("hi"),
        "{text}"
    );
}

/// Pipelined answers of every kind the driver writes without awaiting (text, HEAD, 204,
/// an invalid header), with the output flushed after every response (a tiny high-water
/// mark) and batched: the same bytes either way.
/// curl sees a handler's `103 Early Hints`, with its `Link`, before the final response
/// (skipped, saying so, when curl is absent).
#[test]
fn curl_sees_early_hints_before_the_final_response() {
    use std::process::{Command, Stdio};
    if !integration_tests::has_tool("curl", "curl_sees_early_hints_before_the_final_response") {
        return;
    }
    let h = start(|_| {});
    let url = format!("http://{}/hints", h.local_addr());
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--http1.1", "--noproxy", "*"])
        .args(["--max-time", "10", "--include", &url])
        .stdin(Stdio::null())
        .output();
    let out = out.expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let hints = text.find("HTTP/1.1 103").expect("a 103 in curl's output");
    let link = text
        .find("</style.css>; rel=preload; as=style")
        .expect("its Link");
    let final_head = text.find("HTTP/1.1 200").expect("the final response");
    assert!(hints < link && link < final_head, "{text}");
    assert!(text.ends_with("page"), "{text}");
    block_on(h.shutdown());
}

/// A handler that never finishes does not keep its connection slot once the client left:
/// at a limit of one connection, the next client is served.
#[test]
fn a_parked_handler_whose_client_left_frees_its_slot() {
    let h = start(|c| {
        c.max_connections(1);
    });
    let mut parked = Client::connect(h.local_addr());
    parked.send(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n");
    let t0 = Instant::now();
    while h.connection_count() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "never accepted");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(parked);
    let mut next = Client::connect(h.local_addr());
    next.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let text = read_all(&mut next);
    assert!(text.ends_with("hi"), "{text:?}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    block_on(h.shutdown());
}
