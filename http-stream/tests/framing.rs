//! How a push stream is framed and ended on the wire: chunked with keep-alive, trailers,
//! abort, HTTP/1.0 close-delimited, Content-Length (over and under), HEAD; and how the
//! producer learns the client is gone or the server is shutting down.

mod common;

use std::time::{Duration, Instant};

use common::{WAIT, finishes_within, next_sender, run, stream_server};
use h1_server::Headers;
use h1_stream::{Config, Error, Shutdown};

fn chunked() -> (
    common::TestServer,
    std::sync::mpsc::Receiver<(String, h1_stream::Sender)>,
) {
    stream_server(|_| h1_stream::response(200, Config::new()))
}

/// A chunked stream server, a client that sent `GET /` and read the response head, and
/// the stream's sender.
fn open_chunked() -> (common::TestServer, common::Client, h1_stream::Sender) {
    let (server, rx) = chunked();
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    client.head();
    (server, client, tx)
}

#[test]
fn close_ends_with_a_terminal_chunk_and_keeps_the_connection() {
    let (server, rx) = chunked();
    let mut client = server.connect();
    client.get("/one");
    let tx = next_sender(&rx);
    client.head();
    run(tx.send("a")).unwrap();
    tx.close().unwrap();
    assert_eq!(client.chunk(WAIT), Some(Some(b"a".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(None));
    assert_eq!(client.trailers(), "\r\n");
    run(tx.closed());
    assert_eq!(
        run(tx.send("late")).unwrap_err().error(),
        Error::Disconnected
    );
    assert_eq!(tx.close(), Err(Error::Disconnected));
    // The same connection serves the next request.
    client.get("/two");
    let (path, tx2) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(path, "/two");
    assert!(client.head().starts_with("HTTP/1.1 200"));
    tx2.close().unwrap();
    assert_eq!(client.chunk(WAIT), Some(None));
}

#[test]
fn close_with_trailers_sends_them_after_the_last_chunk() {
    let (_server, mut client, tx) = open_chunked();
    run(tx.send("data")).unwrap();
    let mut trailers = Headers::new();
    trailers.append("X-Checksum", "abc123");
    tx.close_with_trailers(trailers).unwrap();
    assert_eq!(tx.close(), Err(Error::Finished));
    assert_eq!(client.chunk(WAIT), Some(Some(b"data".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(None));
    assert_eq!(client.trailers(), "X-Checksum: abc123\r\n\r\n");
}

#[test]
fn dropping_every_sender_closes_the_stream() {
    let (_server, mut client, tx) = open_chunked();
    let tx2 = tx.clone();
    run(tx.send("1")).unwrap();
    drop(tx);
    run(tx2.send("2")).unwrap();
    drop(tx2);
    assert_eq!(client.chunk(WAIT), Some(Some(b"1".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(Some(b"2".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(None));
}

#[test]
fn abort_ends_without_a_terminal_chunk_and_closes() {
    let (_server, mut client, tx) = open_chunked();
    run(tx.send("partial")).unwrap();
    assert_eq!(client.chunk(WAIT), Some(Some(b"partial".to_vec())));
    run(tx.send_buffered("never sent")).unwrap();
    tx.abort();
    let rest = client.read_to_close();
    assert!(
        rest.is_empty(),
        "bytes after abort: {:?}",
        String::from_utf8_lossy(&rest)
    );
    run(tx.closed());
    assert_eq!(run(tx.send("x")).unwrap_err().error(), Error::Disconnected);
}

#[test]
fn http10_is_close_delimited() {
    let (server, rx) = chunked();
    let mut client = server.connect();
    client.write("GET / HTTP/1.0\r\n\r\n");
    let tx = next_sender(&rx);
    let head = client.head().to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200"),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    run(tx.send("hello ")).unwrap();
    run(tx.send("world")).unwrap();
    assert_eq!(client.exact(11, WAIT).unwrap(), b"hello world");
    tx.close().unwrap();
    assert!(client.read_to_close().is_empty());
}

fn fixed(
    length: u64,
) -> (
    common::TestServer,
    std::sync::mpsc::Receiver<(String, h1_stream::Sender)>,
) {
    stream_server(move |_| {
        let mut config = Config::new();
        config.length(Some(length));
        h1_stream::response(200, config)
    })
}

#[test]
fn content_length_stream_refuses_extra_bytes_and_keeps_alive() {
    let (server, rx) = fixed(10);
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    let head = client.head().to_ascii_lowercase();
    assert!(head.contains("content-length: 10\r\n"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    run(tx.send("0123")).unwrap();
    let err = run(tx.send("4567890")).unwrap_err();
    assert_eq!(
        err.error(),
        Error::LengthExceeded {
            declared: 10,
            attempted: 11
        }
    );
    assert_eq!(err.into_inner(), "4567890");
    run(tx.send("456789")).unwrap();
    tx.close().unwrap();
    assert_eq!(client.exact(10, WAIT).unwrap(), b"0123456789");
    // Keep-alive goes on.
    client.get("/again");
    let tx2 = next_sender(&rx);
    assert!(client.head().starts_with("HTTP/1.1 200"));
    run(tx2.send("abcdefghij")).unwrap();
    assert_eq!(client.exact(10, WAIT).unwrap(), b"abcdefghij");
    drop(tx2); // complete: dropping closes cleanly
}

#[test]
fn content_length_stream_closed_short_aborts() {
    let (server, rx) = fixed(10);
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    client.head();
    run(tx.send("0123")).unwrap();
    assert_eq!(client.exact(4, WAIT).unwrap(), b"0123");
    assert_eq!(
        tx.close(),
        Err(Error::Incomplete {
            declared: 10,
            sent: 4
        })
    );
    assert!(
        client.read_to_close().is_empty(),
        "the connection must close short"
    );
    run(tx.closed());
}

#[test]
fn head_request_gets_headers_only_and_stops_the_producer() {
    let (server, rx) = chunked();
    let mut client = server.connect();
    client.write("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    let tx = next_sender(&rx);
    let head = client.head();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    run(tx.closed());
    assert_eq!(run(tx.send("x")).unwrap_err().error(), Error::Disconnected);
    assert!(!client.gets_bytes_within(Duration::from_millis(100)));
}

#[test]
fn sends_fail_once_a_gone_client_makes_a_write_fail() {
    let (_server, client, tx) = open_chunked();
    drop(client);
    // The first write after the close may still be accepted by the kernel; later ones fail.
    let t0 = Instant::now();
    let err = loop {
        assert!(t0.elapsed() < WAIT, "sends kept succeeding");
        match run(tx.send("ping\n")) {
            Ok(()) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => break e,
        }
    };
    assert_eq!(err.error(), Error::Disconnected);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert!(tx.is_closed());
}

#[test]
fn heartbeat_notices_a_gone_client_within_a_second() {
    let (server, rx) = stream_server(|_| {
        let mut config = Config::new();
        config.heartbeat(Duration::from_millis(100), "\n");
        h1_stream::response(200, config)
    });
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    client.head();
    assert_eq!(client.chunk(WAIT), Some(Some(b"\n".to_vec())), "heartbeat");
    drop(client);
    let t0 = Instant::now();
    assert!(
        finishes_within(Duration::from_secs(1), tx.closed()).is_some(),
        "closed() did not resolve within 1 s"
    );
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(run(tx.send("x")).is_err());
}

#[test]
fn closed_resolves_within_a_second_of_disconnect_while_idle() {
    let (_server, client, tx) = open_chunked();
    drop(client);
    assert!(
        finishes_within(Duration::from_secs(1), tx.closed()).is_some(),
        "closed() did not resolve within 1 s of the client leaving an idle stream"
    );
    assert_eq!(run(tx.send("x")).unwrap_err().error(), Error::Disconnected);
}

#[test]
fn server_shutdown_signal_reaches_streams_without_a_manual_trigger() {
    // A stream made from the request ends on shutdown with no wiring.
    let (server, rx) = stream_server(|req| h1_stream::response_for(req, 200, Config::new()));
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    client.head();
    assert!(!tx.is_shutdown_requested());
    let producer = std::thread::spawn(move || {
        run(tx.shutdown_requested());
        run(tx.send("goodbye\n")).unwrap();
        tx.close().unwrap();
    });
    let t0 = Instant::now();
    run(server.handle.shutdown_graceful(Duration::from_secs(5)));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    producer.join().unwrap();
    assert_eq!(client.chunk(WAIT), Some(Some(b"goodbye\n".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(None));
}

#[test]
fn shutdown_signal_lets_streams_say_goodbye() {
    let shutdown = Shutdown::new();
    let signal = shutdown.clone();
    let (server, rx) = stream_server(move |_| {
        let mut config = Config::new();
        config.shutdown(&signal);
        h1_stream::response(200, config)
    });
    let mut client = server.connect();
    client.get("/");
    let tx = next_sender(&rx);
    client.head();
    let producer = std::thread::spawn(move || {
        run(tx.shutdown_requested());
        run(tx.send("goodbye\n")).unwrap();
        tx.close().unwrap();
    });
    assert!(!client.gets_bytes_within(Duration::from_millis(100)));
    shutdown.trigger();
    let t0 = Instant::now();
    run(server.handle.shutdown_graceful(Duration::from_secs(5)));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    producer.join().unwrap();
    assert_eq!(client.chunk(WAIT), Some(Some(b"goodbye\n".to_vec())));
    assert_eq!(client.chunk(WAIT), Some(None));
    assert_eq!(client.trailers(), "\r\n");
    // Then the server closes the connection.
    assert!(client.read_to_close().is_empty());
}

#[test]
fn graceful_shutdown_deadline_closes_open_streams() {
    let (server, mut client, tx) = open_chunked();
    let t0 = Instant::now();
    run(server.handle.shutdown_graceful(Duration::from_millis(200)));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(finishes_within(Duration::from_secs(1), tx.closed()).is_some());
    assert!(run(tx.send("x")).is_err());
    client.read_to_close();
}
