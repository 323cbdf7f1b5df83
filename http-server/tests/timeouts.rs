//! Each timeout, on the connection test kit with a manual clock (no socket, no sleeping):
//! request head (408 and close), idle keep-alive (quiet close), body stall, minimum body
//! rate, write to a client that stopped reading. Each fires exactly at its deadline: one
//! millisecond before, the connection is still open.

use std::time::Duration;

use futures_lite::future::block_on;
use futures_lite::stream;
use h1_server::testing::{ManualClock, TestConnection};
use h1_server::{Bytes, CloseReason, Request, Response, ServerConfig, StreamBody, Timeout};

const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(3600);
const TICK: Duration = Duration::from_millis(1);

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
fn conn(configure: impl FnOnce(&mut ServerConfig)) -> TestConnection {
    conn_with_capacity(1 << 20, configure)
}

fn conn_with_capacity(
    capacity: usize,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestConnection {
    let mut c = ServerConfig::new();
    c.head_timeout(LONG)
        .keep_alive_timeout(LONG)
        .body_timeout(LONG)
        .min_body_rate(0, LONG)
        .write_timeout(LONG);
    configure(&mut c);
    TestConnection::with_clock(routes, c, ManualClock::new(), capacity)
}

/// Advance to one tick before `deadline`: the connection must still be open.
async fn just_before(c: &mut TestConnection, deadline: Duration) {
    c.clock().advance(deadline - TICK);
    let early = c.read_available().await;
    assert!(early.is_empty(), "{:?}", String::from_utf8_lossy(&early));
    assert_eq!(c.close_reason(), None);
}

#[test]
fn a_partial_head_gets_408_and_a_close_after_the_head_timeout() {
    block_on(async {
        let mut c = conn(|c| {
            c.head_timeout(SHORT);
        });
        c.write(b"GET / HTTP/1.1\r\nHo").await;
        just_before(&mut c, SHORT).await;
        c.clock().advance(TICK);
        let r = c.read_response().await;
        assert_eq!(r.status, 408);
        assert_eq!(r.header("connection"), Some("close"));
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::Head));
        assert!(c.read_to_close().await.is_empty());
    });
}

#[test]
fn slowloris_trickling_a_head_cannot_hold_the_connection() {
    block_on(async {
        let mut c = conn(|c| {
            c.head_timeout(SHORT);
        });
        let head = format!("GET / HTTP/1.1\r\nHost: t\r\n{}", "X-Pad: y\r\n".repeat(50));
        // One byte a second: the head timeout counts from its first byte.
        let mut written = 0;
        for b in head.bytes() {
            if c.write(&[b]).await == 0 {
                break;
            }
            written += 1;
            c.clock().advance(Duration::from_secs(1));
        }
        assert_eq!(
            written,
            SHORT.as_secs() as usize,
            "bytes taken before the 408"
        );
        assert_eq!(c.read_response().await.status, 408);
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::Head));
    });
}

#[test]
fn a_silent_new_connection_is_closed_quietly_after_the_head_timeout() {
    block_on(async {
        let mut c = conn(|c| {
            c.head_timeout(SHORT);
        });
        just_before(&mut c, SHORT).await;
        c.clock().advance(TICK);
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::Head));
        assert!(c.read_to_close().await.is_empty());
    });
}

#[test]
fn an_idle_keep_alive_connection_closes_quietly() {
    block_on(async {
        let mut c = conn(|c| {
            c.keep_alive_timeout(SHORT);
        });
        c.write(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(c.read_response().await.body, b"/one");
        just_before(&mut c, SHORT).await;
        c.clock().advance(TICK);
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::KeepAlive));
        assert!(c.read_to_close().await.is_empty());
    });
}

#[test]
fn keep_alive_activity_resets_the_idle_timer() {
    block_on(async {
        let mut c = conn(|c| {
            c.keep_alive_timeout(SHORT);
        });
        // A request every 20 s for ten times the timeout: the connection stays.
        for i in 0..15 {
            c.write(format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                .await;
            assert_eq!(c.read_response().await.body, format!("/{i}").as_bytes());
            c.clock().advance(Duration::from_secs(20));
        }
        assert_eq!(c.close_reason(), None);
        c.clock().advance(SHORT);
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::KeepAlive));
    });
}

#[test]
fn a_stalled_body_fails_the_read_and_closes_after_the_response() {
    block_on(async {
        let mut c = conn(|c| {
            c.body_timeout(SHORT);
        });
        c.write(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789")
            .await;
        just_before(&mut c, SHORT).await;
        c.clock().advance(TICK);
        let r = c.read_response().await;
        assert_eq!(r.status, 408, "{r:?}");
        assert!(
            String::from_utf8_lossy(&r.body).contains("stalled"),
            "{r:?}"
        );
        assert_eq!(r.header("connection"), Some("close"));
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::BodyStall));
    });
}

#[test]
fn a_body_below_the_minimum_rate_fails_the_read() {
    block_on(async {
        let mut c = conn(|c| {
            // 1000 B/s after 300 ms; the client sends 20 B/s. No byte stalls for long.
            c.min_body_rate(1000, Duration::from_millis(300));
        });
        c.write(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 200\r\n\r\n")
            .await;
        let mut written = 0;
        while c.close_reason().is_none() && written < 200 {
            c.write(b"z").await;
            written += 1;
            c.clock().advance(Duration::from_millis(50));
            if !c.read_available().await.is_empty() {
                break;
            }
        }
        assert!(written < 200, "the whole body went through");
        assert_eq!(written, 6, "300 ms of grace at 50 ms a byte");
        // `read_available` above took the response; the connection closes after it.
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::BodyRate));
    });
}

#[test]
fn a_body_above_the_minimum_rate_is_read() {
    block_on(async {
        let mut c = conn(|c| {
            c.min_body_rate(1000, Duration::from_millis(300))
                .body_timeout(Duration::from_millis(300));
        });
        c.write(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
            .await;
        // 10 kB every 100 ms: ten times the minimum rate.
        for _ in 0..10 {
            c.write(&[b'q'; 10_000]).await;
            c.clock().advance(Duration::from_millis(100));
        }
        let r = c.read_response().await;
        assert_eq!(r.body, b"got 100000");
        assert_eq!(r.header("connection"), None);
        assert_eq!(c.close_reason(), None);
    });
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    block_on(async {
        let mut c = conn_with_capacity(64 * 1024, |c| {
            c.write_timeout(SHORT);
        });
        c.write(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n").await;
        // Never read: the transport fills, the server's writes stop making progress.
        c.clock().advance(SHORT - TICK);
        c.settle().await;
        assert_eq!(c.close_reason(), None);
        c.clock().advance(TICK);
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::Write));
        // What arrived is a truncated chunked response, then the end.
        let rest = c.read_to_close().await;
        assert!(
            rest.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            &rest[..20.min(rest.len())]
        );
    });
}
