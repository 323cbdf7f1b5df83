//! Raw bytes against a served handler on the connection kit (no socket): pipelining,
//! `100 Continue`, a chunked echo, a half-closed client, and plain responses written with
//! and without flushing between them. Moved from loopback.rs, where what needs the socket
//! (the write timeout in the edge-triggered set, limits, runtimes, curl) stays.

use futures_lite::future::block_on;
use h1_server::testing::TestConnection;
use h1_server::{CloseReason, Request, Response, ServerConfig};

async fn app(mut req: Request) -> Response {
    match req.path() {
        "/echo" => Response::stream(200, req.take_body()),
        "/len" => match req.bytes(1 << 20).await {
            Ok(b) => Response::text(200, format!("{}", b.len())),
            Err(e) => Response::from_error(&e),
        },
        "/no-content" => Response::text(204, "dropped"),
        "/bad-header" => Response::text(200, "never").header("X-Bad", "a\r\nb"),
        _ => Response::text(200, "hi"),
    }
}

fn conn() -> TestConnection {
    TestConnection::new(app, ServerConfig::new())
}

#[test]
fn pipelined_hundred_requests_are_answered_in_order() {
    block_on(async {
        let mut c = conn();
        let mut req = Vec::new();
        for i in 0..100 {
            req.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        }
        c.send(&req).await;
        for i in 0..100 {
            let r = c.read_response().await;
            assert_eq!((r.status, r.text()), (200, "hi"), "response {i}");
        }
        assert!(c.is_quiet().await, "extra output");
    });
}

#[test]
fn expect_continue_is_sent_when_the_handler_reads() {
    block_on(async {
        let mut c = conn();
        c.send(
            b"POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await;
        let interim = c.read_interim().await;
        assert!(
            interim.head.starts_with("HTTP/1.1 100 Continue\r\n\r\n"),
            "{}",
            interim.head
        );
        c.send(b"hello").await;
        let r = c.read_response().await;
        assert_eq!((r.status, r.text()), (200, "5"));
    });
}

#[test]
fn echo_streams_a_chunked_body_back() {
    block_on(async {
        let mut c = conn();
        // Every split of the request: the echo is the same.
        let req = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        for piece in [req.len(), 7, 1] {
            assert_eq!(c.write_some(req, piece).await, req.len());
            let r = c.read_response().await;
            assert!(r.chunked, "{}", r.head);
            assert_eq!(r.header("transfer-encoding"), Some("chunked"));
            assert_eq!(r.text(), "hello world");
        }
    });
}

#[test]
fn half_closed_client_still_gets_its_answer() {
    block_on(async {
        let mut c = conn();
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        c.close_write().await;
        let text = String::from_utf8(c.read_to_close().await).unwrap();
        assert!(text.ends_with("hi"), "{text}");
        assert_eq!(c.closed().await, CloseReason::ClientClosed);
    });
}

#[test]
fn pipelined_plain_responses_with_and_without_flushing() {
    for high_water in [1, 1 << 20] {
        block_on(async {
            let mut config = ServerConfig::new();
            config.server_name(None).write_high_water(high_water);
            let mut c = TestConnection::new(app, config);
            c.send(
                b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
                  HEAD / HTTP/1.1\r\nHost: a\r\n\r\n\
                  GET /no-content HTTP/1.1\r\nHost: a\r\n\r\n\
                  GET / HTTP/1.1\r\nHost: a\r\n\r\n\
                  GET /bad-header HTTP/1.1\r\nHost: a\r\n\r\n\
                  GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            )
            .await;
            let text = c.read_to_close().await;
            let text = String::from_utf8(text).unwrap();
            // Dates differ by run: drop those lines.
            let text: String = text
                .split_inclusive("\r\n")
                .filter(|l| !l.starts_with("Date: "))
                .collect();
            let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
                      Content-Length: 2\r\n\r\n";
            let expected = [
                format!("{ok}hi"),
                ok.to_string(),
                "HTTP/1.1 204 No Content\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".into(),
                format!("{ok}hi"),
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: 22\r\nConnection: close\r\n\r\ninternal server error\n"
                    .into(),
            ]
            .concat();
            assert_eq!(text, expected, "high water {high_water}");
        });
    }
}
