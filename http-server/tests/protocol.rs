//! Protocol behaviour of the connection driver, on the connection test kit (no socket):
//! pipelining, HEAD, `100 Continue`, response kinds, default headers, limits, panics,
//! `Response::close`, and what the server answers to stricter framing and garbage.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_lite::future::block_on;
use futures_lite::stream;
use h1_server::testing::{TestConnection, WireResponse};
use h1_server::{Body, Bytes, Frame, Headers, Request, Response, ServerConfig, StreamBody};

/// A body streamed in three pieces, without a length.
fn abc_stream() -> StreamBody<impl futures_lite::Stream<Item = io::Result<Bytes>> + Unpin> {
    StreamBody::new(stream::iter(
        ["ab", "cd", "ef"].map(|s| Ok(Bytes::from_static(s.as_bytes()))),
    ))
}

/// Routes shared by the tests below.
async fn routes(mut req: Request) -> Response {
    match req.path() {
        "/empty" => Response::empty(204),
        "/empty200" => Response::empty(200),
        "/bytes" => Response::bytes(200, Bytes::from_static(b"\x00\x01binary")),
        "/text" => Response::text(200, "hello world"),
        "/string" => Response::text(201, format!("made {}", 7 * 6)),
        "/stream" => Response::stream(200, abc_stream()),
        "/stream-len" => Response::stream(
            200,
            StreamBody::with_length(
                stream::iter(["abc", "def"].map(|s| Ok(Bytes::from_static(s.as_bytes())))),
                6,
            ),
        ),
        "/close" => Response::close(),
        "/panic" => panic!("handler panic on purpose (expected in test output)"),
        "/echo" => match req.bytes(1 << 20).await {
            Ok(body) => Response::bytes(200, body),
            Err(e) => Response::from_error(&e),
        },
        "/small" => match req.bytes(8).await {
            Ok(body) => Response::bytes(200, body),
            Err(e) => Response::from_error(&e),
        },
        "/ignore-body" => Response::text(200, "ignored"),
        "/own-header" => Response::text(200, "own").header("X-Frame-Options", "SAMEORIGIN"),
        p => Response::text(200, p.to_owned()),
    }
}

/// The configuration the tests share: a default header the handler may override.
fn config() -> ServerConfig {
    let mut c = ServerConfig::new();
    c.default_header("X-Frame-Options", "DENY");
    c
}

/// A new connection to [`routes`] with [`config`].
fn conn() -> TestConnection {
    TestConnection::new(routes, config())
}

/// `GET <path>` on HTTP/1.1 with a Host header.
fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// One `GET` on a new connection.
async fn get_once(path: &str) -> WireResponse {
    conn().request(get(path)).await
}

/// Send `raw` on `c`; read the one answer, then the close.
async fn answer_and_close(mut c: TestConnection, raw: &[u8]) -> WireResponse {
    c.send(raw).await;
    let r = c.read_response().await;
    c.expect_closed().await;
    r
}

#[test]
fn hundred_pipelined_requests_in_one_write_are_answered_in_order() {
    block_on(async {
        let mut c = conn();
        let batch: String = (0..100).map(|i| get(&format!("/p/{i}"))).collect();
        c.send(batch).await;
        for i in 0..100 {
            let r = c.read_response().await;
            assert_eq!(r.status, 200, "response {i}");
            assert_eq!(r.text(), format!("/p/{i}"));
            assert!(!r.is_close());
        }
        assert!(c.is_quiet().await, "extra output");
        // The connection is still usable afterwards.
        assert_eq!(c.request(get("/after")).await.text(), "/after");
    });
}

#[test]
fn pipelined_requests_with_bodies_are_answered_in_order() {
    block_on(async {
        let mut c = conn();
        let mut batch = String::new();
        for i in 0..100 {
            if i % 3 == 0 {
                let body = format!("body-{i}");
                batch += &format!(
                    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            } else if i % 3 == 1 {
                // Chunked, and an unread body the engine must skip.
                batch += "POST /ignore-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
            } else {
                batch += &get(&format!("/g/{i}"));
            }
        }
        c.send(batch).await;
        for i in 0..100 {
            let r = c.read_response().await;
            assert_eq!(r.status, 200, "response {i}");
            let want = match i % 3 {
                0 => format!("body-{i}"),
                1 => "ignored".to_owned(),
                _ => format!("/g/{i}"),
            };
            assert_eq!(r.text(), want, "response {i}");
        }
    });
}

#[test]
fn head_gets_the_get_headers_and_no_body() {
    block_on(async {
        let mut c = conn();
        // HEAD then GET pipelined: if HEAD sent a body, the GET's response would not parse.
        c.send(format!(
            "HEAD /text HTTP/1.1\r\nHost: t\r\n\r\n{}",
            get("/text")
        ))
        .await;
        let head = c.read_head_response().await;
        let full = c.read_response().await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("11"));
        let strip = |r: &WireResponse| {
            r.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&head), strip(&full));
        assert_eq!(full.text(), "hello world");

        // A streamed body with a length: the same Content-Length, no bytes.
        c.send(format!(
            "HEAD /stream-len HTTP/1.1\r\nHost: t\r\n\r\n{}",
            get("/x")
        ))
        .await;
        let head = c.read_head_response().await;
        assert_eq!(head.header("content-length"), Some("6"));
        assert_eq!(c.read_response().await.text(), "/x");

        // A streamed body without a length: no body bytes either.
        c.send(format!(
            "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n{}",
            get("/y")
        ))
        .await;
        let head = c.read_head_response().await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), None);
        assert_eq!(c.read_response().await.text(), "/y");
    });
}

#[test]
fn continue_is_sent_only_when_the_handler_reads_the_body() {
    // The handler reads the body only once the test opens the gate: no 100 Continue
    // may go out before.
    let (open, gate) = async_channel::bounded::<()>(1);
    let handler = move |mut req: Request| {
        let gate = gate.clone();
        async move {
            if req.path() != "/slow-echo" {
                return Response::text(200, req.path().to_owned());
            }
            let _ = gate.recv().await;
            match req.bytes(1 << 20).await {
                Ok(body) => Response::bytes(200, body),
                Err(e) => Response::from_error(&e),
            }
        }
    };
    block_on(async {
        let mut c = TestConnection::new(handler, config());
        c.send(
            "POST /slow-echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await;
        assert!(
            c.is_quiet().await,
            "100 Continue sent before the handler read the body"
        );
        open.try_send(()).unwrap();
        let interim = c.read_interim().await;
        assert_eq!(interim.status, 100);
        c.send("hello").await;
        let r = c.read_response().await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "hello");
        assert!(!r.is_close());
        // Keep-alive still works.
        assert_eq!(c.request(get("/next")).await.text(), "/next");
    });
}

#[test]
fn a_handler_answering_without_reading_sends_no_continue_and_closes() {
    block_on(async {
        let mut c = conn();
        c.send(
            "POST /ignore-body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        ).await;
        let r = c.read_response().await;
        assert_eq!(r.status, 200, "a 100 Continue went out: {r:?}");
        assert_eq!(r.text(), "ignored");
        assert!(r.is_close(), "no Connection: close in {r:?}");
        c.expect_closed().await;
    });
}

#[test]
fn a_declared_body_over_the_handler_limit_is_413_without_continue() {
    block_on(async {
        let mut c = conn();
        c.send(
            "POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
        ).await;
        let r = c.read_response().await;
        assert_eq!(r.status, 413);
        assert!(r.is_close());
        c.expect_closed().await;
    });
}

#[test]
fn response_kinds_are_framed_as_documented() {
    block_on(async {
        let mut c = conn();

        let r = c.request(get("/empty")).await;
        assert_eq!(r.status, 204);
        assert_eq!(r.header("content-length"), None);
        assert!(r.body.is_empty());

        let r = c.request(get("/empty200")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("0"));

        let r = c.request(get("/bytes")).await;
        assert_eq!(r.body, b"\x00\x01binary");
        assert_eq!(r.header("content-length"), Some("8"));
        assert_eq!(r.header("content-type"), None);

        let r = c.request(get("/string")).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.text(), "made 42");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

        // A stream without a length is chunked on HTTP/1.1.
        let r = c.request(get("/stream")).await;
        assert!(r.chunked, "{r:?}");
        assert_eq!(r.header("content-length"), None);
        assert_eq!(r.text(), "abcdef");
        assert!(!r.is_close());

        // A stream with a length gets Content-Length.
        let r = c.request(get("/stream-len")).await;
        assert!(!r.chunked);
        assert_eq!(r.header("content-length"), Some("6"));
        assert_eq!(r.text(), "abcdef");
    });
}

#[test]
fn a_stream_on_http10_is_close_delimited() {
    block_on(async {
        let mut c = conn();
        let r = c.request("GET /stream HTTP/1.0\r\n\r\n").await;
        // The server answers with its own version (RFC 9110 §2.5), framed for a 1.0 client.
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.close_delimited, "{r:?}");
        assert!(!r.chunked);
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.text(), "abcdef");

        // With keep-alive asked, a stream still has to close.
        let mut c = conn();
        let r = c
            .request("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        assert!(r.close_delimited, "{r:?}");
        assert_eq!(r.text(), "abcdef");

        // A known length keeps an HTTP/1.0 keep-alive connection open.
        let mut c = conn();
        let r = c
            .request("GET /text HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        assert_eq!(r.text(), "hello world");
        assert_eq!(
            c.request("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .await
                .text(),
            "/again"
        );
    });
}

#[test]
fn response_close_drops_the_connection_without_output() {
    block_on(async {
        let mut c = conn();
        c.send(get("/close")).await;
        c.expect_closed().await;

        // Earlier pipelined responses are still written first; later requests are dropped.
        let mut c = conn();
        c.send(format!(
            "{}{}{}",
            get("/first"),
            get("/close"),
            get("/never")
        ))
        .await;
        assert_eq!(c.read_response().await.text(), "/first");
        c.expect_closed().await;
    });
}

#[test]
fn default_headers_and_date_are_sent() {
    block_on(async {
        let r = get_once("/text").await;
        assert_eq!(
            r.header("server"),
            Some(concat!("http-server/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        let date = r.header("date").expect("a Date header");
        // IMF-fixdate, RFC 9110 §5.6.7: "Sun, 06 Nov 1994 08:49:37 GMT".
        assert_eq!(date.len(), 29, "{date:?}");
        assert!(date.ends_with(" GMT"), "{date:?}");
        assert_eq!(&date[3..5], ", ", "{date:?}");
        assert_eq!(r.header_count("date"), 1);

        // A header set by the handler wins over the default one.
        let r = get_once("/own-header").await;
        assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
        assert_eq!(r.header_count("x-frame-options"), 1);

        // No Server header when the name is None.
        let mut quiet = config();
        quiet.server_name(None);
        let r = TestConnection::new(routes, quiet)
            .request(get("/text"))
            .await;
        assert_eq!(r.header("server"), None);
        assert!(r.header("date").is_some());
    });
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_keeps_serving() {
    block_on(async {
        let mut c = conn();
        let r = c.request(get("/panic")).await;
        assert_eq!(r.status, 500);
        c.expect_closed().await;
        for _ in 0..3 {
            assert_eq!(get_once("/fine").await.text(), "/fine");
        }
        // A panic on one connection does not disturb another one that is open.
        let mut other = conn();
        assert_eq!(other.request(get("/a")).await.text(), "/a");
        assert_eq!(get_once("/panic").await.status, 500);
        assert_eq!(other.request(get("/b")).await.text(), "/b");
    });
}

#[test]
fn a_bad_request_gets_400_and_does_not_disturb_other_connections() {
    block_on(async {
        let mut good = conn();
        assert_eq!(good.request(get("/1")).await.text(), "/1");
        let mut bad = conn();
        let r = bad
            .request("GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
            .await;
        assert_eq!(r.status, 400);
        bad.expect_closed().await;
        assert_eq!(good.request(get("/2")).await.text(), "/2");
    });
}

#[test]
fn engine_limits_from_the_server_config_apply() {
    block_on(async {
        let limited = || {
            let mut config = config();
            config
                .limits_mut()
                .max_head_bytes(1024)
                .max_target_bytes(64)
                .max_headers(8)
                .max_body_bytes(16);
            TestConnection::new(routes, config)
        };
        let long_target = format!("/{}", "a".repeat(100));
        assert_eq!(limited().request(get(&long_target)).await.status, 414);

        let mut c = limited();
        let many: String = (0..20).map(|i| format!("X-{i}: v\r\n")).collect();
        let r = c
            .request(format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n"))
            .await;
        assert_eq!(r.status, 431);

        let mut c = limited();
        let big = format!("X-Big: {}\r\n", "b".repeat(2000));
        let r = c
            .request(format!("GET / HTTP/1.1\r\nHost: t\r\n{big}\r\n"))
            .await;
        assert_eq!(r.status, 431);

        let mut c = limited();
        let r = c
            .request(format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n{}",
                "x".repeat(17)
            ))
            .await;
        assert_eq!(r.status, 413);
        // Within the limits, all is well.
        assert_eq!(limited().request(get("/ok")).await.text(), "/ok");
    });
}

/// Yields `data`, then trailer fields.
struct WithTrailers(Option<&'static str>, bool);

impl Body for WithTrailers {
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame>>> {
        if let Some(data) = self.0.take() {
            return Poll::Ready(Some(Ok(Frame::Data(Bytes::from_static(data.as_bytes())))));
        }
        if !self.1 {
            self.1 = true;
            let mut t = Headers::new();
            t.append("X-Checksum", "abc123");
            return Poll::Ready(Some(Ok(Frame::Trailers(t))));
        }
        Poll::Ready(None)
    }
}

#[test]
fn a_streamed_body_sends_its_trailers_when_chunked() {
    block_on(async {
        let handler = |req: Request| async move {
            let _ = req;
            Response::stream(200, WithTrailers(Some("payload"), false))
        };
        let mut c = TestConnection::new(handler, ServerConfig::new());
        let r = c.request(get("/")).await;
        assert!(r.chunked);
        assert_eq!(r.text(), "payload");
        assert_eq!(r.trailers, [("X-Checksum".to_owned(), "abc123".to_owned())]);
        // On HTTP/1.0 (close-delimited) the trailers are dropped.
        let mut c = TestConnection::new(handler, ServerConfig::new());
        let r = c.request("GET / HTTP/1.0\r\n\r\n").await;
        assert_eq!(r.text(), "payload");
    });
}

#[test]
fn a_waiting_stream_delivers_what_it_produced_so_far() {
    block_on(async {
        type Rx = async_channel::Receiver<io::Result<Bytes>>;
        let (tx, rx) = async_channel::unbounded::<io::Result<Bytes>>();
        let slot: Arc<Mutex<Option<Rx>>> = Arc::new(Mutex::new(Some(rx)));
        let handler = move |_req: Request| {
            let rx = slot.lock().unwrap().take().expect("one request");
            async move { Response::stream(200, StreamBody::new(Box::pin(rx))) }
        };
        let mut c = TestConnection::new(handler, ServerConfig::new());
        tx.try_send(Ok(Bytes::from_static(b"first-part"))).unwrap();
        c.send(get("/")).await;
        // The body is not finished, but its first part arrives.
        c.wait_for(b"first-part").await;
        tx.try_send(Ok(Bytes::from_static(b"+second"))).unwrap();
        c.wait_for(b"+second").await;
        drop(tx);
        let r = c.read_response().await;
        assert!(r.chunked);
        assert_eq!(r.text(), "first-part+second");
    });
}

#[test]
fn a_failing_stream_aborts_the_response_and_closes() {
    block_on(async {
        type Rx = async_channel::Receiver<io::Result<Bytes>>;
        let (tx, rx) = async_channel::unbounded::<io::Result<Bytes>>();
        let slot: Arc<Mutex<Option<Rx>>> = Arc::new(Mutex::new(Some(rx)));
        let handler = move |req: Request| {
            let rx = slot.lock().unwrap().take();
            async move {
                match rx {
                    Some(rx) => Response::stream(200, StreamBody::new(Box::pin(rx))),
                    None => Response::text(200, req.path().to_owned()),
                }
            }
        };
        let mut c = TestConnection::new(handler.clone(), ServerConfig::new());
        c.send(get("/")).await;
        tx.try_send(Ok(Bytes::from_static(b"partial"))).unwrap();
        c.wait_for(b"partial").await;
        tx.try_send(Err(io::Error::other("backend went away")))
            .unwrap();
        let raw = c.read_to_close().await;
        let raw = String::from_utf8_lossy(&raw);
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        // No terminating zero-size chunk: the client can tell the body is incomplete.
        assert!(!raw.ends_with("0\r\n\r\n"), "{raw}");
        // Other connections are fine.
        let mut other = TestConnection::new(handler, ServerConfig::new());
        assert_eq!(other.request(get("/next")).await.text(), "/next");
    });
}

// ---- issue 12: what the server answers to stricter framing and garbage ----

#[test]
fn chunked_with_a_parameter_is_400_and_closes() {
    block_on(async {
        let r = answer_and_close(
            conn(),
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;ext=1\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.is_close());
    });
}

#[test]
fn whitespace_after_a_chunk_size_is_400() {
    block_on(async {
        let mut c = conn();
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n").await;
        let r = c.read_response().await;
        assert_eq!(r.status, 400);
        assert!(r.is_close());
    });
}

#[test]
fn a_tls_client_hello_is_answered_400_at_once() {
    block_on(async {
        // Default head timeout (10 s): the answer comes with no time passing.
        // The first bytes of a ClientHello record; the server refuses the first one.
        let hello = [0x16];
        let r = answer_and_close(conn(), &hello).await;
        assert_eq!(r.status, 400);
    });
}

#[test]
fn nul_bytes_are_answered_400_at_once() {
    block_on(async {
        let r = answer_and_close(conn(), &[0u8; 1]).await;
        assert_eq!(r.status, 400);
    });
}

#[test]
fn a_few_empty_lines_before_a_request_are_ignored() {
    block_on(async {
        let mut c = conn();
        let r = c
            .request("\r\n\r\n\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: a\r\n\r\n")
            .await;
        assert_eq!((r.status, r.text()), (200, "/after-empty-lines"));
        assert!(!r.is_close());
    });
}

#[test]
fn a_fifth_empty_line_is_400_at_once() {
    block_on(async {
        // Old behaviour: the lines were taken as the start of a head, then 408 or 431.
        // (Nothing is sent past the refused byte, so the close is never a reset.)
        let r = answer_and_close(conn(), "\r\n".repeat(5).as_bytes()).await;
        assert_eq!(r.status, 400);
    });
}

#[test]
fn http12_is_answered_as_http11() {
    block_on(async {
        let mut c = conn();
        let r = c.request("GET /v12 HTTP/1.2\r\nHost: a\r\n\r\n").await;
        assert_eq!(
            (r.version.as_str(), r.status, r.text()),
            ("HTTP/1.1", 200, "/v12")
        );
        assert!(!r.is_close());
        // The connection persists as HTTP/1.1's does.
        assert_eq!(c.request(get("/again")).await.text(), "/again");
    });
}

#[test]
fn http20_on_an_http1_connection_is_505() {
    block_on(async {
        let r = answer_and_close(conn(), b"GET / HTTP/2.0\r\nHost: a\r\n\r\n").await;
        assert_eq!(r.status, 505);
    });
}

#[test]
fn continue_in_an_expect_list_gets_100_continue() {
    block_on(async {
        let mut c = conn();
        c.send(
            "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: , 100-Continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await;
        let interim = c.read_response().await;
        assert_eq!(interim.status, 100);
        c.send("hello").await;
        let r = c.read_response().await;
        assert_eq!((r.status, r.text()), (200, "hello"));
    });
}

#[test]
fn an_unknown_expectation_is_417() {
    block_on(async {
        let r = answer_and_close(conn(),
            b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x-fly\r\nContent-Length: 5\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 417);
        assert!(r.is_close());
    });
}

#[test]
fn userinfo_in_the_target_is_400() {
    block_on(async {
        let r = answer_and_close(
            conn(),
            b"GET http://user:pw@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 400);
    });
}

#[test]
fn a_fragment_in_the_target_is_400() {
    block_on(async {
        let r = answer_and_close(conn(), b"GET /page#section HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(r.status, 400);
    });
}

#[test]
fn endless_chunk_extensions_are_cut_off_with_400() {
    block_on(async {
        let mut c = conn();
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        // 1-byte chunks with 1000-byte extensions (`;` and 999 more) until the default bound
        // of 16 KiB: the input ends at the first byte past it, so the server has read all
        // of it when it closes (no reset).
        let chunk = format!("1;{}\r\nx\r\n", "e".repeat(999));
        for _ in 0..16 {
            c.send(&chunk).await;
        }
        c.send(format!("1;{}", "e".repeat(16 * 1024 - 16 * 1000)))
            .await;
        let r = c.read_response().await;
        assert_eq!(r.status, 400);
        assert!(r.is_close());
        c.expect_closed().await;
    });
}

// ----- moved from the kit module of the loopback suite -----

mod kit {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures_lite::future::{block_on, poll_fn};
    use h1_server::testing::TestConnection;
    use h1_server::{Request, Response, ServerConfig};

    async fn hello(_req: Request) -> Response {
        Response::text(200, "hi")
    }

    /// Every error a connection can answer before (or instead of) a response carries the
    /// current second's `Date`, not none and not the last response's.
    #[test]
    fn errors_carry_the_current_date() {
        block_on(async {
            // A 400 as the first response.
            let mut c = TestConnection::new(hello, ServerConfig::new());
            c.write(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
                .await;
            let r = c.read_response().await;
            assert_eq!(r.status, 400);
            assert!(r.header("date").is_some(), "{}", r.head);

            // A 408 a minute after a response: its own Date.
            let mut config = ServerConfig::new();
            config
                .head_timeout(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(120));
            let mut c = TestConnection::new(hello, config);
            c.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
            let first = c.read_response().await;
            let first_date = first.header("date").expect("a Date").to_owned();
            c.clock().advance(Duration::from_secs(61));
            c.write(b"GET / HTTP/1.1\r\nHo").await;
            c.clock().advance(Duration::from_secs(10));
            let r = c.read_response().await;
            assert_eq!(r.status, 408);
            let date = r.header("date").expect("a Date on the 408");
            assert_ne!(date, first_date, "the 408 repeats the old Date");
        });
    }

    /// A handler reading a body that arrives slowly is polled a few times per segment,
    /// not in a loop (it runs in the connection's task: a self-wake would spin a core).
    #[test]
    fn a_slow_body_does_not_spin_the_connection_task() {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let handler = move |mut req: Request| {
            let polls = counted.clone();
            async move {
                let mut read = pin!(async move { req.bytes(1 << 20).await });
                let body = poll_fn(|cx| {
                    polls.fetch_add(1, Ordering::Relaxed);
                    read.as_mut().poll(cx)
                })
                .await;
                match body {
                    Ok(b) => Response::text(200, format!("got {}", b.len())),
                    Err(e) => Response::from_error(&e),
                }
            }
        };
        block_on(async {
            let mut c = TestConnection::new(handler, ServerConfig::new());
            c.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
                .await;
            let before = polls.load(Ordering::Relaxed);
            for _ in 0..10 {
                // `write` lets the server run until it has nothing to do.
                c.write(&[b'x'; 10]).await;
            }
            let per_segment = (polls.load(Ordering::Relaxed) - before) as f64 / 10.0;
            // A self-waking reader is polled until the kit gives up (1000 times).
            assert!(
                per_segment <= 5.0,
                "{per_segment} handler polls per segment"
            );
            assert_eq!(c.read_response().await.body, b"got 100");
        });
    }

    /// A response to a request whose unread body is larger than the discard budget says
    /// `Connection: close` in its head (the connection closes after it).
    #[test]
    fn an_unread_body_past_the_discard_budget_closes_in_the_head() {
        block_on(async {
            let mut config = ServerConfig::new();
            config.limits_mut().max_discard_bytes(1000);
            let mut c = TestConnection::new(hello, config);
            c.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\nabc")
                .await;
            let r = c.read_response().await;
            assert_eq!(r.status, 200);
            assert_eq!(r.header("connection"), Some("close"), "{}", r.head);
            assert_eq!(c.closed().await, h1_server::CloseReason::Done);

            // Within the budget: kept alive, the rest is discarded.
            let mut config = ServerConfig::new();
            config.limits_mut().max_discard_bytes(1000);
            let mut c = TestConnection::new(hello, config);
            c.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n\r\nabc")
                .await;
            let r = c.read_response().await;
            assert_eq!(r.header("connection"), None, "{}", r.head);
            assert_eq!(c.close_reason(), None);
        });
    }

    /// `103 Early Hints` a handler sends go out at once while it waits, and before the
    /// final response.
    #[test]
    fn early_hints_go_out_before_the_final_response() {
        let (release, released) = async_channel::bounded::<()>(1);
        let handler = move |req: Request| {
            let released = released.clone();
            async move {
                let mut hints = h1_server::Headers::new();
                hints.append("Link", "</a.css>; rel=preload; as=style");
                req.send_early_hints(hints).await;
                let _ = released.recv().await;
                let mut hints = h1_server::Headers::new();
                hints.append("Link", "</b.js>; rel=preload; as=script");
                req.send_early_hints(hints).await;
                Response::text(200, "page")
            }
        };
        block_on(async {
            let mut c = TestConnection::new(handler, ServerConfig::new());
            c.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
            let first = c.read_response().await;
            assert_eq!(first.status, 103, "{}", first.head);
            assert_eq!(
                first.header("link"),
                Some("</a.css>; rel=preload; as=style")
            );
            assert!(
                c.read_available().await.is_empty(),
                "the handler still waits"
            );
            release.try_send(()).unwrap();
            let second = c.read_response().await;
            assert_eq!(second.status, 103);
            assert_eq!(
                second.header("link"),
                Some("</b.js>; rel=preload; as=script")
            );
            let last = c.read_response().await;
            assert_eq!((last.status, &last.body[..]), (200, &b"page"[..]));

            // HTTP/1.0 clients get no interim responses.
            c.write(b"GET / HTTP/1.0\r\n\r\n").await;
            release.try_send(()).unwrap();
            assert_eq!(c.read_response().await.status, 200);
        });
    }
}
