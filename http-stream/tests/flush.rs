//! When bytes reach the client's socket: flushing each send, `flush()` waiting for the
//! write, and backpressure from a slow reader with flat memory. Timing tests take a lock
//! so they do not run side by side. `dont_flush` with `flush()` and the high-water mark
//! are tested on the connection kit, in flush_kit.rs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use h1_stream::Config;
use integration_tests::{Client, finishes_within, next_sender, rss_bytes, run, stream_server};

static TIMING: Mutex<()> = Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn open(config: Config) -> (integration_tests::TestServer, Client, h1_stream::Sender) {
    let (server, rx) = stream_server(move |_| h1_stream::response(200, config.clone()));
    let mut client = server.connect();
    client.send(integration_tests::get("/"));
    let tx = next_sender(&rx);
    let head = client.head();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Transfer-Encoding: chunked") || head.contains("transfer-encoding: chunked"),
        "{head}"
    );
    (server, client, tx)
}

#[test]
fn each_flushed_chunk_arrives_within_50ms() {
    let _t = timing();
    let (_server, mut client, tx) = open(Config::new());
    // Up to three rounds of 20 sends: a round passes when every chunk arrived within
    // 50 ms. A stream that waits for anything (a timer, the next send) fails every round;
    // one scheduling hiccup on a loaded 2-core machine does not fail the test.
    let mut worsts = Vec::new();
    for round in 0..3 {
        let mut worst = Duration::ZERO;
        for i in 0..20 {
            let msg = format!("event {round}.{i}\n");
            let t0 = Instant::now();
            run(tx.send(msg.clone())).unwrap();
            let got = client
                .chunk(Duration::from_millis(500))
                .expect("chunk did not arrive")
                .expect("not the terminal chunk");
            let took = t0.elapsed();
            assert_eq!(got, msg.as_bytes());
            worst = worst.max(took);
            // Spaced out, so each send starts from an idle stream.
            std::thread::sleep(Duration::from_millis(5));
        }
        worsts.push(worst);
        if worst < Duration::from_millis(50) {
            break;
        }
    }
    eprintln!("worst send-to-read latency per round: {worsts:?}");
    assert!(
        worsts.last().unwrap() < &Duration::from_millis(50),
        "a chunk took over 50 ms in every round: {worsts:?}"
    );
    tx.close().unwrap();
    assert_eq!(client.chunk(Duration::from_secs(2)), Some(None));
}

#[test]
fn flush_waits_until_the_socket_write_completed() {
    let _t = timing();
    let mut config = Config::new();
    config.capacity(1 << 20);
    let (_server, mut client, tx) = open(config);
    // Fill the socket buffers: the client reads nothing. A send that takes 100 ms means
    // "full" on a quiet machine; on a loaded one it may only mean "descheduled", so when
    // the flush below completes anyway, fill more and look again (bounded by WAIT).
    let chunk = vec![b'y'; 64 * 1024];
    let mut sent = 0usize;
    let filled = Instant::now();
    loop {
        assert!(
            filled.elapsed() < integration_tests::WAIT,
            "flush never waited for a stalled client ({sent} bytes sent)"
        );
        if finishes_within(Duration::from_millis(100), tx.send(chunk.clone())).is_some() {
            sent += chunk.len();
            continue;
        }
        // That send is queued or waiting; flush cannot complete while the client is
        // stalled.
        if finishes_within(Duration::from_millis(300), tx.flush()).is_none() {
            break;
        }
    }
    // Drain in a thread; flush then completes.
    let reader = std::thread::spawn(move || {
        let deadline = Instant::now() + integration_tests::WAIT;
        let mut total = 0;
        // Until the terminal chunk (the connection stays open for keep-alive).
        while !client.buffered().ends_with(b"\r\n0\r\n\r\n") {
            assert!(
                Instant::now() < deadline && !client.is_eof(),
                "body did not end"
            );
            let keep = client.buffered().len().saturating_sub(8);
            total += keep;
            client.buffered().drain(..keep);
            client.fill_by(deadline);
        }
        total + client.buffered().len()
    });
    run(tx.flush()).unwrap();
    tx.close().unwrap();
    let total = reader.join().unwrap();
    assert!(total > sent, "read {total} bytes, sent {sent}");
}

#[test]
fn slow_reader_makes_send_wait_and_memory_stays_flat() {
    let _t = timing();
    let capacity = 256 * 1024;
    let mut config = Config::new();
    config.capacity(capacity);
    let (_server, mut client, tx) = open(config);
    let chunk_len = 64 * 1024;
    let rss_before = rss_bytes();
    // The producer tries to push 256 MiB of fresh chunks; nobody reads.
    let producer = std::thread::spawn(move || {
        let mut accepted = 0usize;
        for _ in 0..4096 {
            if run(tx.send(vec![b'z'; chunk_len])).is_err() {
                break;
            }
            accepted += chunk_len;
        }
        (tx, accepted)
    });
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        !producer.is_finished(),
        "send never waited for the slow reader"
    );
    let rss_stalled = rss_bytes();
    // Kernel socket buffers (up to a few MiB on loopback) + driver buffer + our queue.
    let grown = rss_stalled.saturating_sub(rss_before);
    assert!(
        grown < 48 << 20,
        "memory grew by {} MiB while stalled",
        grown >> 20
    );

    // Now read slowly: 8 MiB in 64 KiB reads, checking memory stays flat throughout.
    let mut read = 0usize;
    let mut peak = rss_stalled;
    let deadline = Instant::now() + integration_tests::WAIT;
    while read < 8 << 20 {
        assert!(Instant::now() < deadline, "slow read did not progress");
        read += client.fill_by(deadline);
        client.buffered().clear();
        peak = peak.max(rss_bytes());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!producer.is_finished());
    let grown = peak.saturating_sub(rss_before);
    eprintln!(
        "rss before {} KiB, stalled {} KiB, peak {} KiB",
        rss_before >> 10,
        rss_stalled >> 10,
        peak >> 10
    );
    assert!(
        grown < 48 << 20,
        "memory grew by {} MiB while reading slowly",
        grown >> 20
    );
    drop(client); // the producer's sends now fail
    let (tx, accepted) = producer.join().unwrap();
    assert!(
        accepted < 4096 * chunk_len,
        "all sends succeeded after the client left"
    );
    assert!(tx.is_closed() || finishes_within(integration_tests::WAIT, tx.closed()).is_some());
    assert!(tx.queued_bytes() == 0);
}
