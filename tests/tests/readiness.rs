//! Readiness edge cases over loopback. On Linux accepted connections are waited on
//! through an edge-triggered epoll set (h1-server's `edge` module); these tests pin
//! down the cases where an edge-triggered wait can miss a wake-up.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use h1_server::{Request, Response};
use integration_tests::{TestServer, WAIT};

/// The peer's FIN often arrives together with the last body bytes, reported by the same
/// event. A read that returns those bytes (short of the buffer) looks drained; end of
/// input must still be seen at once, not after the body timeout.
#[test]
fn end_of_input_arriving_with_the_last_bytes_is_seen_at_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let failed = Arc::new(AtomicUsize::new(0));
    let server = {
        let failed = failed.clone();
        TestServer::start(
            |c| {
                c.body_timeout(Duration::from_secs(60));
            },
            move |mut req: Request| {
                let failed = failed.clone();
                async move {
                    match req.bytes(1 << 30).await {
                        Ok(b) => Response::text(200, b.len().to_string()),
                        Err(e) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            Response::text(400, e.to_string())
                        }
                    }
                }
            },
        )
    };
    for round in 0..100usize {
        let mut s = std::net::TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        // Announce more than is sent, then close: the body can never complete.
        let sent = 1 + round * 997;
        let mut msg = format!(
            "POST /r HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            sent + 1
        )
        .into_bytes();
        msg.extend(std::iter::repeat_n(b'x', sent));
        s.write_all(&msg).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "round {round}: the server took {:?} to notice the end of input",
            started.elapsed()
        );
    }
    assert_eq!(failed.load(Ordering::SeqCst), 100);
}

/// A response larger than the socket buffers, to a client that reads slowly: every
/// write that would block must be resumed by a later writable edge.
#[test]
fn a_large_response_to_a_slow_reader_arrives_whole() {
    const LEN: usize = 32 << 20;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let body: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let server = {
        let body = body.clone();
        TestServer::start(
            |_| {},
            move |_req: Request| {
                let body = body.clone();
                async move { Response::bytes(200, body) }
            },
        )
    };
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::with_capacity(LEN + 512);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reads = 0u32;
    loop {
        let n = s.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n]);
        reads += 1;
        if reads % 64 == 0 {
            // Let the server's writes hit a full buffer now and then.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(got.len() - head_end, LEN);
    assert!(got[head_end..] == body[..], "body bytes differ");
}

/// Each server's epoll set (and the task that drains it) ends once the server is shut
/// down and its last connection has closed: starting and stopping servers leaks no
/// descriptors.
#[cfg(target_os = "linux")]
#[test]
fn a_stopped_server_leaves_no_epoll_set_behind() {
    fn epoll_sets() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("eventpoll"))
            .count()
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // One executor that outlives the servers (as smol's global one does): what the
    // servers leave on it stays alive.
    let pool = h1_server::ThreadPool::new(1);
    let start = || {
        let mut server = integration_tests::bind();
        server.spawner(pool.clone());
        TestServer::serve(server, |_req: Request| async { Response::text(200, "x") })
    };
    // Warm up: async-io's own reactor set is created on first use.
    drop(start());
    let before = epoll_sets();
    for _ in 0..10 {
        let server = start();
        let mut c = server.connect();
        assert_eq!(c.request("GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(), "x");
        drop(server);
        drop(c);
    }
    integration_tests::wait_until("epoll sets closed", WAIT, || epoll_sets() <= before);
}

/// The tests here count process-wide descriptors: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
