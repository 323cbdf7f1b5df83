//! What a push stream's producer learns over a real socket: the client went away (a write
//! fails, the heartbeat notices, `closed` resolves) and the server's graceful shutdown
//! deadline passes. Framing is tested on the connection kit in framing.rs.

use std::time::{Duration, Instant};

use h1_stream::{Config, Error};
use integration_tests::{WAIT, finishes_within, next_sender, run, stream_server};

/// A chunked stream server, a client that sent `GET /` and read the response head, and
/// the stream's sender.
fn open_chunked() -> (
    integration_tests::TestServer,
    integration_tests::Client,
    h1_stream::Sender,
) {
    let (server, rx) = stream_server(|_| h1_stream::response(200, Config::new()));
    let mut client = server.connect();
    client.send(integration_tests::get("/"));
    let tx = next_sender(&rx);
    client.head();
    (server, client, tx)
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
    client.send(integration_tests::get("/"));
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
fn graceful_shutdown_deadline_closes_open_streams() {
    let (server, mut client, tx) = open_chunked();
    let t0 = Instant::now();
    run(server.handle.shutdown_graceful(Duration::from_millis(200)));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(finishes_within(Duration::from_secs(1), tx.closed()).is_some());
    assert!(run(tx.send("x")).is_err());
    client.read_to_end();
}
