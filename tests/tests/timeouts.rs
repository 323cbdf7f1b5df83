//! Each timeout, with short configured values: request head (408 and close), idle
//! keep-alive (quiet close), body stall, minimum body rate, write to a client that stopped
//! reading.

use std::time::{Duration, Instant};

use futures_lite::stream;
use http_server::{Bytes, CloseReason, Request, Response, ServerConfig, StreamBody, Timeout};
use integration_tests::{Client, Hooks, TestServer, WAIT, get, wait_until};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(20);

async fn routes(mut req: Request) -> Response {
    match req.path() {
        "/body" => match req.bytes(1 << 20).await {
            Ok(b) => Response::text(200, format!("got {}", b.len())),
            Err(e) => Response::from_error(&e),
        },
        "/endless" => {
            static BLOB: [u8; 64 * 1024] = [b'x'; 64 * 1024];
            let chunks = stream::repeat_with(|| Ok(Bytes::from_static(&BLOB)));
            Response::stream(200, StreamBody::new(chunks))
        }
        p => Response::text(200, p.to_owned()),
    }
}

/// Every timeout long, then `configure` shortens the one under test.
fn server(hooks: &Hooks, configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    TestServer::start(
        |c| {
            hooks.install(c);
            c.head_timeout(LONG)
                .keep_alive_timeout(LONG)
                .body_timeout(LONG)
                .min_body_rate(0, LONG)
                .write_timeout(LONG);
            configure(c);
        },
        routes,
    )
}

/// Write `bytes` one at a time, 50 ms apart, until the server answers or closes (or the
/// bytes run out). Returns how many were written.
fn trickle(c: &mut Client, bytes: &[u8]) -> usize {
    for (i, b) in bytes.iter().enumerate() {
        if !c.try_send([*b]) || !c.is_quiet_for(Duration::from_millis(50)) {
            return i + 1;
        }
    }
    bytes.len()
}

#[test]
fn a_partial_head_gets_408_and_a_close_after_the_head_timeout() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.head_timeout(SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    c.send("GET / HTTP/1.1\r\nHo");
    let r = c.read_response();
    let elapsed = t0.elapsed();
    assert_eq!(r.status, 408);
    assert!(r.is_close());
    c.expect_closed();
    assert!(elapsed >= SHORT - Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed < LONG / 4, "{elapsed:?}");
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::Head)
    );
}

#[test]
fn slowloris_trickling_a_head_cannot_hold_the_connection() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.head_timeout(SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    let head = format!("GET / HTTP/1.1\r\nHost: t\r\n{}", "X-Pad: y\r\n".repeat(50));
    let written = trickle(&mut c, head.as_bytes());
    assert!(written < head.len(), "the whole head went through");
    let r = c.read_response();
    assert_eq!(r.status, 408);
    c.expect_closed();
    assert!(t0.elapsed() < LONG / 4, "{:?}", t0.elapsed());
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::Head)
    );
}

#[test]
fn a_silent_new_connection_is_closed_quietly_after_the_head_timeout() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.head_timeout(SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    c.expect_closed();
    assert!(t0.elapsed() >= SHORT - Duration::from_millis(20));
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::Head)
    );
}

#[test]
fn an_idle_keep_alive_connection_closes_quietly() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.keep_alive_timeout(SHORT);
    });
    let mut c = server.connect();
    assert_eq!(c.request(&get("/one")).text(), "/one");
    let t0 = Instant::now();
    c.expect_closed();
    let elapsed = t0.elapsed();
    assert!(elapsed >= SHORT - Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed < LONG / 4, "{elapsed:?}");
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::KeepAlive)
    );
}

#[test]
fn keep_alive_activity_resets_the_idle_timer() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.keep_alive_timeout(SHORT * 2);
    });
    let mut c = server.connect();
    // Requests 100 ms apart for well over the timeout: the connection stays.
    for i in 0..12 {
        assert_eq!(c.request(&get(&format!("/{i}"))).text(), format!("/{i}"));
        assert!(c.is_quiet_for(Duration::from_millis(100)));
    }
    assert!(hooks.closed().is_empty());
}

#[test]
fn a_stalled_body_fails_the_read_and_closes_after_the_response() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.body_timeout(SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    let r = c.read_response();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(r.text().contains("stalled"), "{r:?}");
    assert!(r.is_close());
    c.expect_closed();
    assert!(t0.elapsed() >= SHORT - Duration::from_millis(20));
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::BodyStall)
    );
}

#[test]
fn a_body_below_the_minimum_rate_fails_the_read() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        // 1000 B/s after 300 ms; the client sends 20 B/s. No byte stalls for long.
        c.min_body_rate(1000, SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 200\r\n\r\n");
    let written = trickle(&mut c, &[b'z'; 200]);
    assert!(written < 200, "the whole body went through");
    let r = c.read_response();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(r.text().contains("minimum rate"), "{r:?}");
    c.expect_closed();
    assert!(t0.elapsed() < LONG / 4);
    assert_eq!(
        hooks.only_close_reason(),
        CloseReason::Timeout(Timeout::BodyRate)
    );
}

#[test]
fn a_body_above_the_minimum_rate_is_read() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.min_body_rate(1000, SHORT).body_timeout(SHORT);
    });
    let mut c = server.connect();
    let body = vec![b'q'; 100_000];
    c.send(format!(
        "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    c.send(&body);
    let r = c.read_response();
    assert_eq!(r.text(), "got 100000");
    assert!(!r.is_close());
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let hooks = Hooks::default();
    let server = server(&hooks, |c| {
        c.write_timeout(SHORT);
    });
    let mut c = server.connect();
    let t0 = Instant::now();
    c.send(get("/endless"));
    // Never read: the socket buffers fill, the server's writes stop making progress.
    let reason = hooks.only_close_reason();
    assert_eq!(reason, CloseReason::Timeout(Timeout::Write));
    assert!(t0.elapsed() >= SHORT - Duration::from_millis(20));
    wait_until("the connection to be released", WAIT, || {
        server.handle.connection_count() == 0
    });
    // What arrived is a truncated chunked response, then the end.
    let rest = c.read_to_end();
    assert!(
        rest.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &rest[..20.min(rest.len())]
    );
}
