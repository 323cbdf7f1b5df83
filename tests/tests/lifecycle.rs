//! Connection lifecycle over loopback: the connection limit, stop/start listening,
//! graceful and immediate shutdown, open/close hooks: the listener and many connections
//! are the point. One connection's end is tested on the connection kit in h1-server's
//! tests/shutdown.rs.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::TryRecvError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future::block_on;
use h1_server::{CloseReason, ConnectionId, Request, Response};
use integration_tests::{Client, Hooks, TestServer, WAIT, get, in_thread, wait_until};

/// Handlers under `/held` wait until the gate opens (at most [`WAIT`]).
#[derive(Clone, Default)]
struct Gate {
    open: Arc<AtomicBool>,
    waiting: Arc<AtomicUsize>,
}

impl Gate {
    fn handler(&self) -> impl Fn(Request) -> futures_lite::future::Boxed<Response> + Clone + use<> {
        let gate = self.clone();
        move |req: Request| {
            let gate = gate.clone();
            Box::pin(async move {
                if req.path().starts_with("/held") {
                    gate.waiting.fetch_add(1, Ordering::SeqCst);
                    let deadline = Instant::now() + WAIT;
                    while !gate.open.load(Ordering::SeqCst) && Instant::now() < deadline {
                        Timer::after(Duration::from_millis(5)).await;
                    }
                }
                Response::text(200, req.path().to_owned())
            })
        }
    }

    fn wait_for(&self, n: usize) {
        wait_until(&format!("{n} handlers waiting"), WAIT, || {
            self.waiting.load(Ordering::SeqCst) >= n
        });
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

fn refused(addr: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Ok(_) => false,
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
            true
        }
    }
}

#[test]
fn accepting_pauses_at_the_connection_limit_and_resumes_below_it() {
    let gate = Gate::default();
    let hooks = Hooks::default();
    let server = TestServer::start(
        |c| {
            hooks.install(c);
            c.max_connections(2);
        },
        gate.handler(),
    );
    let mut a = server.connect();
    let mut b = server.connect();
    assert_eq!(a.request(&get("/a")).text(), "/a");
    assert_eq!(b.request(&get("/b")).text(), "/b");
    assert_eq!(server.handle.connection_count(), 2);

    // The kernel completes the handshake, but the server does not accept: no answer.
    let mut c = server.connect();
    c.send(get("/c"));
    assert!(
        c.is_quiet_for(Duration::from_millis(300)),
        "served past the limit"
    );
    assert_eq!(server.handle.connection_count(), 2);
    assert_eq!(hooks.opened().len(), 2);

    // One closes: the waiting one is accepted and answered.
    drop(a);
    assert_eq!(c.read_response().text(), "/c");
    assert_eq!(hooks.opened().len(), 3);

    // Still at the limit (b and c): the next one waits again until b closes.
    let mut d = server.connect();
    d.send(get("/d"));
    assert!(
        d.is_quiet_for(Duration::from_millis(200)),
        "served past the limit"
    );
    b.shutdown_write();
    b.expect_closed();
    assert_eq!(d.read_response().text(), "/d");
    assert_eq!(c.request(&get("/c2")).text(), "/c2");
}

#[test]
fn stop_listening_refuses_new_connections_while_open_ones_keep_working() {
    let server = TestServer::start(|_| {}, Gate::default().handler());
    let mut open = server.connect();
    assert_eq!(open.request(&get("/1")).text(), "/1");
    assert!(server.handle.is_listening());

    block_on(server.handle.stop_listening());
    assert!(!server.handle.is_listening());
    assert!(refused(server.addr), "connected while stopped");
    // The open connection keeps working, more than once.
    assert_eq!(open.request(&get("/2")).text(), "/2");
    assert_eq!(open.request(&get("/3")).text(), "/3");
    // Stopping twice is harmless.
    block_on(server.handle.stop_listening());

    block_on(server.handle.start_listening()).expect("listen again");
    assert!(server.handle.is_listening());
    assert_eq!(server.handle.local_addr(), server.addr);
    assert_eq!(server.get("/new").text(), "/new");
    assert_eq!(open.request(&get("/4")).text(), "/4");
    // Starting twice is harmless too.
    block_on(server.handle.start_listening()).expect("already listening");
    assert_eq!(server.get("/new2").text(), "/new2");
}

/// `n` connections with a request each held in its handler, and 3 idle keep-alive
/// connections that were served once before.
fn held_and_idle(server: &TestServer, gate: &Gate, n: usize) -> (Vec<Client>, Vec<Client>) {
    let mut idle: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    for (i, c) in idle.iter_mut().enumerate() {
        assert_eq!(
            c.request(&get(&format!("/idle/{i}"))).text(),
            format!("/idle/{i}")
        );
    }
    let mut busy: Vec<Client> = (0..n).map(|_| server.connect()).collect();
    for (i, c) in busy.iter_mut().enumerate() {
        c.send(get(&format!("/held/{i}")));
    }
    gate.wait_for(n);
    assert_eq!(server.handle.connection_count(), n + 3);
    (idle, busy)
}

#[test]
fn graceful_shutdown_finishes_200_in_flight_requests_and_refuses_new_ones() {
    const IN_FLIGHT: usize = 200;
    let gate = Gate::default();
    let hooks = Hooks::default();
    let server = TestServer::start(|c| hooks.install(c), gate.handler());
    let (mut idle, mut busy) = held_and_idle(&server, &gate, IN_FLIGHT);

    let handle = server.handle.clone();
    let done = in_thread(move || {
        block_on(handle.shutdown_graceful(WAIT * 2));
        Instant::now()
    });

    // Idle keep-alive connections close at once, while the handlers are still held.
    for c in &mut idle {
        c.expect_closed();
    }
    // New connections are refused as soon as the listener is closed.
    wait_until("the listener to close", WAIT, || refused(server.addr));
    assert!(refused(server.addr));
    assert_eq!(
        done.try_recv(),
        Err(TryRecvError::Empty),
        "returned before the drain"
    );
    assert_eq!(gate.waiting.load(Ordering::SeqCst), IN_FLIGHT);

    // Let the in-flight requests finish: every one is answered, then closed.
    let released = Instant::now();
    gate.open();
    for (i, c) in busy.iter_mut().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.text(), format!("/held/{i}"));
        assert!(r.is_close(), "request {i}: {r:?}");
        c.expect_closed();
    }
    let finished = done.recv_timeout(WAIT).expect("graceful shutdown returned");
    assert!(finished >= released);
    assert_eq!(server.handle.connection_count(), 0);
    assert!(block_on(server.handle.start_listening()).is_err());

    let closed = hooks.wait_closed(IN_FLIGHT + 3);
    assert_eq!(closed.len(), IN_FLIGHT + 3);
    let opened = hooks.opened();
    for (i, (id, _)) in opened.iter().enumerate() {
        let (_, reason) = closed.iter().find(|(c, _)| c == id).unwrap();
        // Idle ones are closed by the shutdown; in-flight ones after their
        // `Connection: close` response.
        let want = if i < 3 {
            CloseReason::Shutdown
        } else {
            CloseReason::Done
        };
        assert_eq!(*reason, want, "connection {i}");
    }
}

#[test]
fn graceful_shutdown_force_closes_what_remains_at_the_deadline() {
    let gate = Gate::default();
    let server = TestServer::start(|_| {}, gate.handler());
    let mut stuck = server.connect();
    stuck.send(get("/held/forever"));
    gate.wait_for(1);
    let t0 = Instant::now();
    block_on(server.handle.shutdown_graceful(Duration::from_millis(300)));
    let elapsed = t0.elapsed();
    assert!(elapsed >= Duration::from_millis(280), "{elapsed:?}");
    assert!(elapsed < WAIT / 2, "{elapsed:?}");
    stuck.expect_closed();
    assert_eq!(server.handle.connection_count(), 0);
    gate.open();
}

#[test]
fn immediate_shutdown_closes_everything_now() {
    let gate = Gate::default();
    let hooks = Hooks::default();
    let server = TestServer::start(|c| hooks.install(c), gate.handler());
    let mut idle = server.connect();
    assert_eq!(idle.request(&get("/x")).text(), "/x");
    let mut busy = server.connect();
    busy.send(get("/held/1"));
    gate.wait_for(1);

    let t0 = Instant::now();
    block_on(server.handle.shutdown());
    assert!(t0.elapsed() < WAIT / 4, "{:?}", t0.elapsed());
    assert_eq!(server.handle.connection_count(), 0);
    assert!(!server.handle.is_listening());
    idle.expect_closed();
    busy.expect_closed();
    assert!(refused(server.addr));
    assert!(block_on(server.handle.start_listening()).is_err());
    let closed = hooks.wait_closed(2);
    assert!(
        closed.iter().all(|(_, r)| *r == CloseReason::Shutdown),
        "{closed:?}"
    );
    gate.open();
}

#[test]
fn hooks_report_each_connection_with_its_id_and_why_it_closed() {
    let per_request: Arc<Mutex<Vec<(ConnectionId, CloseReason)>>> = Arc::default();
    let hooks = Hooks::default();
    let server = {
        let per_request = per_request.clone();
        TestServer::start(
            |c| hooks.install(c),
            move |req: Request| {
                let per_request = per_request.clone();
                async move {
                    let id = req.connection_id();
                    if req.path() == "/watch" {
                        req.on_close(move |id, why| {
                            per_request.lock().unwrap().push((id, why.clone()));
                        });
                    }
                    match req.path() {
                        "/close" => Response::close(),
                        "/panic" => panic!("handler panic on purpose (expected in test output)"),
                        _ => Response::text(200, id.as_u64().to_string()),
                    }
                }
            },
        )
    };
    let id_of = |r: integration_tests::Response| r.text().parse::<u64>().unwrap();

    // Connection: close from the client: Done.
    let mut a = server.connect();
    let a_id = id_of(a.request("GET /watch HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    a.expect_closed();
    // The client closes between requests: ClientClosed.
    let mut b = server.connect();
    let b_id = id_of(b.request(&get("/b")));
    assert_eq!(id_of(b.request(&get("/b"))), b_id);
    b.shutdown_write();
    b.expect_closed();
    // The handler drops the connection.
    let mut c = server.connect();
    c.send(get("/close"));
    c.expect_closed();
    // The client breaks the protocol.
    let mut d = server.connect();
    assert_eq!(d.request("NOT HTTP\r\n\r\n").status, 400);
    d.expect_closed();
    // The handler panics.
    let mut e = server.connect();
    assert_eq!(e.request(&get("/panic")).status, 500);
    e.expect_closed();

    let closed = hooks.wait_closed(5);
    let opened = hooks.opened();
    assert_eq!(opened.len(), 5);
    let ids: Vec<ConnectionId> = opened.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids[0].as_u64(), a_id);
    assert_eq!(ids[1].as_u64(), b_id);
    for (id, peer) in &opened {
        assert_eq!(peer.ip().to_string(), "127.0.0.1", "{id}");
    }
    let reason = |i: usize| {
        closed
            .iter()
            .find(|(id, _)| *id == ids[i])
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no close for connection {i}: {closed:?}"))
    };
    assert_eq!(reason(0), CloseReason::Done);
    assert_eq!(reason(1), CloseReason::ClientClosed);
    assert_eq!(reason(2), CloseReason::HandlerClose);
    assert!(
        matches!(reason(3), CloseReason::Protocol(_)),
        "{:?}",
        reason(3)
    );
    assert_eq!(reason(4), CloseReason::Panic);
    // The per-request hook saw the same id and reason.
    assert_eq!(*per_request.lock().unwrap(), [(ids[0], CloseReason::Done)]);
}

#[test]
fn graceful_shutdown_answers_connections_still_in_the_accept_queue() {
    let gate = Gate::default();
    let server = TestServer::start(
        |c| {
            c.max_connections(1);
        },
        gate.handler(),
    );
    let addr = server.handle.local_addr();
    let mut busy = server.connect();
    busy.send(get("/held"));
    gate.wait_for(1);
    // At the limit: the kernel completes these handshakes, the server does not accept.
    let mut queued: Vec<Client> = (0..5)
        .map(|i| {
            let mut c = server.connect();
            c.send(get(&format!("/q{i}")));
            c
        })
        .collect();
    assert!(queued[0].is_quiet_for(Duration::from_millis(100)));

    let handle = server.handle.clone();
    let shutdown = in_thread(move || block_on(handle.shutdown_graceful(WAIT)));
    // The listener closes while the queue is still full.
    wait_until("the listener to close", WAIT, || refused(addr));
    gate.open();
    let r = busy.read_response();
    assert_eq!(r.text(), "/held");
    assert!(r.is_close());
    for (i, c) in queued.iter_mut().enumerate() {
        let r = c.read_response();
        assert_eq!(r.text(), format!("/q{i}"));
        assert!(r.is_close(), "{r:?}");
    }
    shutdown.recv_timeout(WAIT).expect("shutdown returns");
}
