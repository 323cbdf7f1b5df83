//! How a push stream is framed and ended on the wire, on h1-server's connection kit (no
//! socket): chunked with keep-alive, trailers, abort, HTTP/1.0 close-delimited,
//! Content-Length (over and under), HEAD, and the server's shutdown signal reaching a
//! stream. What needs a real socket (a gone client, the shutdown deadline) is in
//! disconnect.rs.

use std::sync::{Arc, Mutex, mpsc};

use futures_lite::future::block_on;
use h1_server::testing::TestConnection;
use h1_server::{Headers, Request, Response, ServerConfig};
use h1_stream::{Config, Error, Sender, Shutdown};

/// A connection whose handler answers every request with a push stream made by `make`;
/// each stream's sender comes out of the returned channel (with the request path).
fn stream_conn(
    make: impl Fn(&Request) -> (Sender, Response) + Send + Sync + 'static,
) -> (TestConnection, mpsc::Receiver<(String, Sender)>) {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let handler = move |req: Request| {
        let (sender, response) = make(&req);
        let _ = tx.lock().unwrap().send((req.path().to_owned(), sender));
        async move { response }
    };
    (TestConnection::new(handler, ServerConfig::new()), rx)
}

fn chunked() -> (TestConnection, mpsc::Receiver<(String, Sender)>) {
    stream_conn(|_| h1_stream::response(200, Config::new()))
}

fn fixed(length: u64) -> (TestConnection, mpsc::Receiver<(String, Sender)>) {
    stream_conn(move |_| {
        let mut config = Config::new();
        config.length(Some(length));
        h1_stream::response(200, config)
    })
}

/// The sender of the stream the last request started.
fn next_sender(rx: &mpsc::Receiver<(String, Sender)>) -> Sender {
    rx.try_recv().expect("no stream started").1
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// A chunked stream connection that was sent `GET /`, and the stream's sender.
async fn open_chunked() -> (TestConnection, Sender) {
    let (mut c, rx) = chunked();
    c.send(get("/")).await;
    let tx = next_sender(&rx);
    (c, tx)
}

#[test]
fn close_ends_with_a_terminal_chunk_and_keeps_the_connection() {
    block_on(async {
        let (mut c, rx) = chunked();
        c.send(get("/one")).await;
        let tx = next_sender(&rx);
        tx.send("a").await.unwrap();
        tx.close().unwrap();
        c.wait_for(b"\r\n\r\n1\r\na\r\n0\r\n\r\n").await;
        let r = c.read_response().await;
        assert!(r.chunked, "{}", r.head);
        assert_eq!((r.text(), r.trailers.len()), ("a", 0));
        c.settle().await;
        tx.closed().await;
        assert_eq!(
            tx.send("late").await.unwrap_err().error(),
            Error::Disconnected
        );
        assert_eq!(tx.close(), Err(Error::Disconnected));
        // The same connection serves the next request.
        c.send(get("/two")).await;
        let (path, tx2) = rx.try_recv().unwrap();
        assert_eq!(path, "/two");
        tx2.close().unwrap();
        let r = c.read_response().await;
        assert_eq!((r.status, r.text()), (200, ""));
        assert!(c.is_quiet().await);
    });
}

#[test]
fn close_with_trailers_sends_them_after_the_last_chunk() {
    block_on(async {
        let (mut c, tx) = open_chunked().await;
        tx.send("data").await.unwrap();
        let mut trailers = Headers::new();
        trailers.append("X-Checksum", "abc123");
        tx.close_with_trailers(trailers).unwrap();
        assert_eq!(tx.close(), Err(Error::Finished));
        c.wait_for(b"4\r\ndata\r\n0\r\nX-Checksum: abc123\r\n\r\n")
            .await;
        let r = c.read_response().await;
        assert_eq!(r.text(), "data");
        assert_eq!(r.trailers, [("X-Checksum".to_owned(), "abc123".to_owned())]);
    });
}

#[test]
fn dropping_every_sender_closes_the_stream() {
    block_on(async {
        let (mut c, tx) = open_chunked().await;
        let tx2 = tx.clone();
        tx.send("1").await.unwrap();
        drop(tx);
        tx2.send("2").await.unwrap();
        drop(tx2);
        c.wait_for(b"1\r\n1\r\n1\r\n2\r\n0\r\n\r\n").await;
        let r = c.read_response().await;
        assert_eq!(r.text(), "12");
    });
}

#[test]
fn abort_ends_without_a_terminal_chunk_and_closes() {
    block_on(async {
        let (mut c, tx) = open_chunked().await;
        tx.send("partial").await.unwrap();
        c.wait_for(b"7\r\npartial\r\n").await;
        let head = c.read_available().await;
        tx.send_buffered("never sent").await.unwrap();
        tx.abort();
        let rest = c.read_to_close().await;
        assert!(
            rest.is_empty(),
            "bytes after abort: {:?}",
            String::from_utf8_lossy(&rest)
        );
        assert!(!head.ends_with(b"0\r\n\r\n"));
        tx.closed().await;
        assert_eq!(tx.send("x").await.unwrap_err().error(), Error::Disconnected);
    });
}

#[test]
fn http10_is_close_delimited() {
    block_on(async {
        let (mut c, rx) = chunked();
        c.send("GET / HTTP/1.0\r\n\r\n").await;
        let tx = next_sender(&rx);
        tx.send("hello ").await.unwrap();
        tx.send("world").await.unwrap();
        c.wait_for(b"hello world").await;
        tx.close().unwrap();
        let r = c.read_response().await;
        assert_eq!(r.status, 200);
        assert!(r.close_delimited, "{}", r.head);
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.header("content-length"), None);
        assert_eq!(r.text(), "hello world");
        assert!(c.read_to_close().await.is_empty());
    });
}

#[test]
fn content_length_stream_refuses_extra_bytes_and_keeps_alive() {
    block_on(async {
        let (mut c, rx) = fixed(10);
        c.send(get("/")).await;
        let tx = next_sender(&rx);
        tx.send("0123").await.unwrap();
        let err = tx.send("4567890").await.unwrap_err();
        assert_eq!(
            err.error(),
            Error::LengthExceeded {
                declared: 10,
                attempted: 11
            }
        );
        assert_eq!(err.into_inner(), "4567890");
        tx.send("456789").await.unwrap();
        tx.close().unwrap();
        let r = c.read_response().await;
        assert_eq!(r.header("content-length"), Some("10"));
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.body, b"0123456789");
        // Keep-alive goes on.
        c.send(get("/again")).await;
        let tx2 = next_sender(&rx);
        tx2.send("abcdefghij").await.unwrap();
        let r = c.read_response().await;
        assert_eq!((r.status, &r.body[..]), (200, &b"abcdefghij"[..]));
        drop(tx2); // complete: dropping closes cleanly
        assert!(c.is_quiet().await);
    });
}

#[test]
fn content_length_stream_closed_short_aborts() {
    block_on(async {
        let (mut c, rx) = fixed(10);
        c.send(get("/")).await;
        let tx = next_sender(&rx);
        tx.send("0123").await.unwrap();
        c.wait_for(b"\r\n\r\n0123").await;
        assert_eq!(
            tx.close(),
            Err(Error::Incomplete {
                declared: 10,
                sent: 4
            })
        );
        let raw = c.read_to_close().await;
        assert!(
            raw.ends_with(b"\r\n\r\n0123"),
            "the connection must close short"
        );
        tx.closed().await;
    });
}

#[test]
fn head_request_gets_headers_only_and_stops_the_producer() {
    block_on(async {
        let (mut c, rx) = chunked();
        c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n").await;
        let tx = next_sender(&rx);
        let r = c.read_head_response().await;
        assert_eq!(r.status, 200, "{}", r.head);
        tx.closed().await;
        assert_eq!(tx.send("x").await.unwrap_err().error(), Error::Disconnected);
        assert!(c.is_quiet().await);
    });
}

#[test]
fn server_shutdown_signal_reaches_streams_without_a_manual_trigger() {
    // A stream made from the request ends on shutdown with no wiring.
    block_on(async {
        let (mut c, rx) = stream_conn(|req| h1_stream::response_for(req, 200, Config::new()));
        c.send(get("/")).await;
        let tx = next_sender(&rx);
        assert!(!tx.is_shutdown_requested());
        c.shutdown_graceful();
        c.settle().await;
        assert!(tx.is_shutdown_requested());
        tx.shutdown_requested().await;
        tx.send("goodbye\n").await.unwrap();
        tx.close().unwrap();
        let r = c.read_response().await;
        assert_eq!(r.text(), "goodbye\n");
        c.expect_closed().await;
    });
}

#[test]
fn shutdown_signal_lets_streams_say_goodbye() {
    let shutdown = Shutdown::new();
    let signal = shutdown.clone();
    block_on(async {
        let (mut c, rx) = stream_conn(move |_| {
            let mut config = Config::new();
            config.shutdown(&signal);
            h1_stream::response(200, config)
        });
        c.send(get("/")).await;
        let tx = next_sender(&rx);
        c.wait_for(b"\r\n\r\n").await;
        assert!(!c.read_available().await.is_empty(), "the head");
        assert!(c.is_quiet().await);
        assert!(!tx.is_shutdown_requested());
        shutdown.trigger();
        c.shutdown_graceful();
        tx.shutdown_requested().await;
        tx.send("goodbye\n").await.unwrap();
        tx.close().unwrap();
        let rest = c.read_to_close().await;
        assert!(
            rest.ends_with(b"8\r\ngoodbye\n\r\n0\r\n\r\n"),
            "{:?}",
            String::from_utf8_lossy(&rest)
        );
        // Then the server closes the connection.
        assert!(c.read_to_close().await.is_empty());
    });
}
