//! Request helpers over loopback: body as bytes, text and form with limits, query,
//! headers, addresses, connection ids, client IP behind trusted proxies.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_io::Timer;
use h1_server::{Request, Response};
use integration_tests::{Client, TestServer, WAIT, get, in_thread, wait_until};

/// The only route the socket tests need: the addresses and connection id the request saw.
async fn routes(req: Request) -> Response {
    match req.path() {
        "/addr" => Response::text(
            200,
            format!(
                "{} {} {}",
                req.peer_addr(),
                req.local_addr(),
                req.connection_id().as_u64()
            ),
        ),
        _ => Response::text(404, "no route"),
    }
}

#[test]
fn peer_and_local_addresses_and_connection_ids() {
    let server = TestServer::start(|_| {}, routes);
    let mut a = server.connect();
    let mut b = server.connect();
    let parse = |c: &mut Client| {
        let r = c.request(&get("/addr"));
        let parts: Vec<String> = r.text().split(' ').map(str::to_owned).collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        (
            parts[0].clone(),
            parts[1].clone(),
            parts[2].parse::<u64>().unwrap(),
        )
    };
    let (peer, local, id_a1) = parse(&mut a);
    assert_eq!(peer, a.stream().local_addr().unwrap().to_string());
    assert_eq!(local, a.stream().peer_addr().unwrap().to_string());
    assert_eq!(local, server.addr.to_string());
    let (_, _, id_a2) = parse(&mut a);
    let (peer_b, _, id_b) = parse(&mut b);
    assert_eq!(peer_b, b.stream().local_addr().unwrap().to_string());
    assert_eq!(id_a1, id_a2, "one connection, one id");
    assert_ne!(id_a1, id_b, "two connections, two ids");
}

#[test]
fn on_a_wildcard_listener_the_local_address_is_the_one_the_peer_reached() {
    // Bound to 0.0.0.0: the listener's own address names no interface, so each
    // connection asks its socket (a specific bind reports the listener's address: above).
    let mut server = h1_server::Server::new();
    futures_lite::future::block_on(server.also_bind("0.0.0.0:0")).unwrap();
    server.spawner(h1_server::ThreadPool::new(1));
    let server = TestServer::serve(server, routes);
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    let mut c = Client::connect(target);
    let r = c.request(&get("/addr"));
    let local = r.text().split(' ').nth(1).unwrap_or_default().to_owned();
    assert_eq!(local, target.to_string());
}

#[test]
fn the_body_is_not_read_from_the_socket_until_the_handler_reads_it() {
    const BODY: u64 = 64 << 20;
    let open = Arc::new(AtomicBool::new(false));
    let server = {
        let open = open.clone();
        TestServer::start(
            |_| {},
            move |mut req: Request| {
                let open = open.clone();
                async move {
                    while !open.load(Ordering::SeqCst) {
                        Timer::after(Duration::from_millis(5)).await;
                    }
                    let body = req.body_mut();
                    let mut total = 0u64;
                    while let Some(chunk) = body.chunk().await.transpose() {
                        match chunk {
                            Ok(c) => total += c.len() as u64,
                            Err(e) => return Response::from_error(&e),
                        }
                    }
                    Response::text(200, total.to_string())
                }
            },
        )
    };
    let mut c = server.connect();
    c.send(format!(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n"
    ));
    let written = Arc::new(AtomicU64::new(0));
    let mut writer = c.stream().try_clone().unwrap();
    let progress = written.clone();
    let done = in_thread(move || {
        let piece = vec![7u8; 64 * 1024];
        while progress.load(Ordering::SeqCst) < BODY {
            writer.write_all(&piece)?;
            progress.fetch_add(piece.len() as u64, Ordering::SeqCst);
        }
        std::io::Result::Ok(())
    });
    // The writer stalls once the socket buffers are full: the server reads nothing yet.
    let mut last = u64::MAX;
    wait_until("the writer to stall", WAIT, || {
        std::thread::sleep(Duration::from_millis(100));
        let now = written.load(Ordering::SeqCst);
        let stalled = now == last;
        last = now;
        stalled
    });
    let held = written.load(Ordering::SeqCst);
    assert!(
        held < BODY / 2,
        "{held} bytes went in before the handler read"
    );
    open.store(true, Ordering::SeqCst);
    let r = c.read_response();
    assert_eq!(r.text(), BODY.to_string());
    done.recv_timeout(WAIT).unwrap().unwrap();
}
